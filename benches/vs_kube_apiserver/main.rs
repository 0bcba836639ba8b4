//! Capstan against kube-apiserver on the same etcd, in the same run, through the same client.
//!
//!   cargo bench --features etcd --bench vs_kube_apiserver
//!
//! Starts one etcd, a kube-apiserver (built on demand by `scripts/tools.sh kube-apiserver`), a
//! Capstan on that etcd and a Capstan on its embedded store (both the release build cargo makes
//! for benches), runs the same workloads (see `workloads.rs`) against each in turn, and prints a
//! Markdown table with every figure and the ratio Capstan / kube-apiserver. Absolute figures
//! depend on the machine; the ratio is the quality bar, because both servers share the machine,
//! the etcd, the client and the moment. `BENCH_SCALE=0.2` runs a smaller version.

#[path = "../../tests/support/mod.rs"]
mod support;
mod workloads;

use std::process::Command;
use std::time::Instant;

use support::capstan::{Capstan, Start};
use support::etcd::Etcd;
use support::kube_apiserver::{self, KubeApiserver};
use workloads::{Measured, Sizes};

/// One server under test.
struct Target {
    name: &'static str,
    client: kube::Client,
    pid: u32,
    /// Whether etcd serves this target's storage (so etcd's CPU belongs to it).
    on_etcd: bool,
}

/// What one server measured, plus what it cost.
#[derive(Default)]
struct Outcome {
    measured: Measured,
    /// CPU seconds the server used during the workloads (not start-up or warm-up), all rounds.
    cpu_seconds: f64,
    /// CPU seconds etcd used meanwhile (None when the server does not use etcd).
    etcd_cpu_seconds: Option<f64>,
    rss_mib: f64,
    peak_rss_mib: f64,
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets without it,
    // and must not build kube-apiserver or spend minutes here
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "vs_kube_apiserver: run with `cargo bench --features etcd --bench vs_kube_apiserver`"
        );
        return;
    }
    let sizes = Sizes::from_env();
    let started = Instant::now();
    let etcd = Etcd::start();
    eprintln!("etcd ready at {}", etcd.endpoint);
    // Priority and DefaultTolerationSeconds admission add fields to every pod (priority,
    // preemptionPolicy, two tolerations) that Capstan does not: off, so both store, return and
    // list the same pods
    let mut kube_start = kube_apiserver::Start::on(&etcd.endpoint);
    kube_start
        .disable_admission
        .extend(["Priority", "DefaultTolerationSeconds"].map(String::from));
    let kube = KubeApiserver::start_with(kube_start);
    eprintln!("kube-apiserver ready at {}", kube.url());
    let capstan_etcd = Capstan::start_with(Start {
        etcd: Some(etcd.endpoint.clone()),
        args: Vec::new(),
    });
    let capstan_embedded = Capstan::start();
    eprintln!("capstan ready on etcd and on the embedded store");

    let targets = [
        Target {
            name: "kube-apiserver (etcd)",
            client: kube.client().await,
            pid: kube.pid(),
            on_etcd: true,
        },
        Target {
            name: "Capstan (etcd)",
            client: capstan_etcd.client().await,
            pid: capstan_etcd.pid().expect("capstan pid"),
            on_etcd: true,
        },
        Target {
            name: "Capstan (embedded)",
            client: capstan_embedded.client().await,
            pid: capstan_embedded.pid().expect("capstan pid"),
            on_etcd: false,
        },
    ];

    let mut outcomes: Vec<Outcome> = targets.iter().map(|_| Outcome::default()).collect();
    for target in &targets {
        workloads::warm_up(&target.client).await;
    }
    for round in 0..sizes.rounds {
        // each round starts with the next server
        for i in (0..targets.len()).map(|k| (k + round) % targets.len()) {
            let target = &targets[i];
            eprintln!("round {}: {}", round + 1, target.name);
            let (cpu0, etcd0) = (cpu_seconds(target.pid), cpu_seconds(etcd.pid()));
            let measured = workloads::run(&target.client, sizes, round).await;
            let outcome = &mut outcomes[i];
            outcome.measured.merge(measured);
            outcome.cpu_seconds += cpu_seconds(target.pid) - cpu0;
            if target.on_etcd {
                *outcome.etcd_cpu_seconds.get_or_insert(0.0) += cpu_seconds(etcd.pid()) - etcd0;
            }
        }
    }
    for (target, outcome) in targets.iter().zip(&mut outcomes) {
        (outcome.rss_mib, outcome.peak_rss_mib) = rss_mib(target.pid);
    }

    print_header(sizes);
    print_table(&targets, &outcomes, sizes);
    let (etcd_rss, _) = rss_mib(etcd.pid());
    println!();
    println!(
        "etcd RSS after the run: {etcd_rss:.0} MiB. Whole run: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
}

/// The date, the machine and the versions, so a table can be compared with a later one.
fn print_header(sizes: Sizes) {
    let now = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = field_kib(&meminfo, "MemTotal:") / (1024.0 * 1024.0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let version_of = |tool: &str| {
        let path = support::tool(tool);
        first_line(&command_output(&path.to_string_lossy(), &["--version"]))
    };
    let (kube_version, etcd_version) = (version_of("kube-apiserver"), version_of("etcd"));
    let capstan_version = first_line(&command_output(
        env!("CARGO_BIN_EXE_capstan"),
        &["--version"],
    ));
    let commit = first_line(&command_output("git", &["rev-parse", "--short", "HEAD"]));
    let rustc = first_line(&command_output("rustc", &["--version"]));

    println!("## Capstan vs kube-apiserver ({now})");
    println!();
    println!(
        "- machine: {cores} cores ({cpu}), {mem_gib:.0} GiB memory, load average {} at the end",
        load.join(" ")
    );
    println!(
        "- versions: {kube_version}; {etcd_version}; {capstan_version} (commit {commit}, release build, {rustc})"
    );
    println!(
        "- workload, per server and round ({} rounds, each started by the next server): \
         kube-rs client over loopback HTTPS (HTTP/1.1 pool), small pods; \
         {} sequential ops per verb, {} creates by {} concurrent clients, {} lists of {} pods, \
         {} watch events",
        sizes.rounds,
        sizes.sequential,
        sizes.bulk,
        sizes.concurrency,
        sizes.lists,
        sizes.bulk,
        sizes.watch_events
    );
    println!(
        "- ratio = Capstan / kube-apiserver: below 1 is better for times and sizes, above 1 for rates"
    );
    println!();
}

fn print_table(targets: &[Target], outcomes: &[Outcome], sizes: Sizes) {
    type Row = (String, fn(&Outcome) -> Option<f64>, usize);
    let rows: Vec<Row> = vec![
        (
            "create p50 (ms)".into(),
            |o| Some(o.measured.create.quantile_ms(0.5)),
            2,
        ),
        (
            "create p99 (ms)".into(),
            |o| Some(o.measured.create.quantile_ms(0.99)),
            2,
        ),
        (
            "get p50 (ms)".into(),
            |o| Some(o.measured.get.quantile_ms(0.5)),
            2,
        ),
        (
            "get p99 (ms)".into(),
            |o| Some(o.measured.get.quantile_ms(0.99)),
            2,
        ),
        (
            "merge patch p50 (ms)".into(),
            |o| Some(o.measured.patch.quantile_ms(0.5)),
            2,
        ),
        (
            "merge patch p99 (ms)".into(),
            |o| Some(o.measured.patch.quantile_ms(0.99)),
            2,
        ),
        (
            "delete p50 (ms)".into(),
            |o| Some(o.measured.delete.quantile_ms(0.5)),
            2,
        ),
        (
            "delete p99 (ms)".into(),
            |o| Some(o.measured.delete.quantile_ms(0.99)),
            2,
        ),
        (
            format!("creates/s, {} clients", sizes.concurrency),
            |o| Some(o.measured.bulk_rate()),
            0,
        ),
        (
            format!("create p50 (ms), {} clients", sizes.concurrency),
            |o| Some(o.measured.bulk.quantile_ms(0.5)),
            2,
        ),
        (
            format!("create p99 (ms), {} clients", sizes.concurrency),
            |o| Some(o.measured.bulk.quantile_ms(0.99)),
            2,
        ),
        (
            format!("list {} pods p50 (ms)", sizes.bulk),
            |o| Some(o.measured.list.quantile_ms(0.5)),
            1,
        ),
        (
            format!("list {} pods p99 (ms)", sizes.bulk),
            |o| Some(o.measured.list.quantile_ms(0.99)),
            1,
        ),
        (
            format!("list {} pods (KiB JSON)", sizes.bulk),
            |o| Some(o.measured.list_bytes as f64 / 1024.0),
            0,
        ),
        (
            "watch write→event p50 (ms)".into(),
            |o| Some(o.measured.watch.quantile_ms(0.5)),
            2,
        ),
        (
            "watch write→event p99 (ms)".into(),
            |o| Some(o.measured.watch.quantile_ms(0.99)),
            2,
        ),
        (
            "server CPU during workloads (s)".into(),
            |o| Some(o.cpu_seconds),
            2,
        ),
        (
            "etcd CPU during workloads (s)".into(),
            |o| o.etcd_cpu_seconds,
            2,
        ),
        ("server RSS after run (MiB)".into(), |o| Some(o.rss_mib), 0),
        ("server peak RSS (MiB)".into(), |o| Some(o.peak_rss_mib), 0),
    ];

    let mut header = String::from("| metric |");
    let mut rule = String::from("|---|");
    for (i, target) in targets.iter().enumerate() {
        header.push_str(&format!(" {} |", target.name));
        rule.push_str("---:|");
        if i > 0 {
            header.push_str(" ratio |");
            rule.push_str("---:|");
        }
    }
    println!("{header}");
    println!("{rule}");
    for (label, value, decimals) in &rows {
        let base = value(&outcomes[0]);
        let mut line = format!("| {label} |");
        for (i, outcome) in outcomes.iter().enumerate() {
            let v = value(outcome);
            line.push_str(&format!(" {} |", fmt(v, *decimals)));
            if i > 0 {
                let ratio = match (v, base) {
                    (Some(v), Some(b)) if b > 0.0 => Some(v / b),
                    _ => None,
                };
                line.push_str(&format!(" {} |", fmt(ratio, 2)));
            }
        }
        println!("{line}");
    }
}

fn fmt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".into(),
    }
}

/// User + system CPU seconds of a process so far (/proc/<pid>/stat, fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // the command name (field 2) may hold spaces; count fields after its closing parenthesis
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        command_output("getconf", &["CLK_TCK"])
            .trim()
            .parse()
            .unwrap_or(100.0)
    })
}

/// Current and peak resident memory of a process, MiB (/proc/<pid>/status VmRSS, VmHWM).
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (
        field_kib(&status, "VmRSS:") / 1024.0,
        field_kib(&status, "VmHWM:") / 1024.0,
    )
}

fn field_kib(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
