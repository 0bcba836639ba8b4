//! The workloads, identical for every server: each is driven through a kube-rs client, the same
//! code path an operator or controller written in Rust takes.
//!
//! Latencies are measured at the client, from sending the request to the last byte of the
//! answer (typed calls also include decoding the answer, the same work for every server).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::mpsc;

/// How much work each phase does per round; the defaults keep a three-server run at a few
/// minutes on two cores. `BENCH_SCALE=0.2` (any factor) shrinks or grows every count but the
/// list size, `BENCH_ROUNDS` sets the rounds.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Sequential operations per single-object verb (create, get, patch, delete).
    pub sequential: usize,
    /// Clients creating pods at once in the throughput phase.
    pub concurrency: usize,
    /// Pods created in the throughput phase (and then listed).
    pub bulk: usize,
    /// Full lists of the bulk namespace.
    pub lists: usize,
    /// Writes timed until their watch event arrives.
    pub watch_events: usize,
    /// Times every server runs every phase; each round starts with the next server, so that none
    /// always runs first (or last) while the machine's load drifts.
    pub rounds: usize,
}

impl Sizes {
    /// The defaults, scaled by `BENCH_SCALE` when set.
    pub fn from_env() -> Self {
        let scale: f64 = std::env::var("BENCH_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0);
        let n = |base: usize| ((base as f64 * scale).round() as usize).max(1);
        let rounds = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3usize)
            .max(1);
        Self {
            sequential: n(800),
            concurrency: 8,
            bulk: 1000,
            lists: n(40),
            watch_events: n(400),
            rounds,
        }
    }
}

/// What one server measured (over every round).
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub create: Latencies,
    pub get: Latencies,
    pub patch: Latencies,
    pub delete: Latencies,
    /// Wall time of the throughput phases, for creates per second with `concurrency` clients.
    pub bulk_elapsed: Duration,
    pub bulk: Latencies,
    pub list: Latencies,
    /// Bytes of one JSON list of the bulk namespace.
    pub list_bytes: usize,
    /// From sending a create to its ADDED event arriving on an open watch.
    pub watch: Latencies,
}

impl Measured {
    /// Adds another round's figures to these.
    pub fn merge(&mut self, other: Measured) {
        self.create.merge(other.create);
        self.get.merge(other.get);
        self.patch.merge(other.patch);
        self.delete.merge(other.delete);
        self.bulk_elapsed += other.bulk_elapsed;
        self.bulk.merge(other.bulk);
        self.list.merge(other.list);
        self.list_bytes = self.list_bytes.max(other.list_bytes);
        self.watch.merge(other.watch);
    }

    /// Creates per second in the throughput phases.
    pub fn bulk_rate(&self) -> f64 {
        self.bulk.0.len() as f64 / self.bulk_elapsed.as_secs_f64()
    }
}

/// Sorted samples of one operation.
#[derive(Clone, Debug, Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self(samples)
    }

    fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
        self.0.sort();
    }

    /// The `q`-quantile (nearest rank), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1].as_secs_f64() * 1000.0
    }
}

/// A small pod like the ones controllers create: defaulting fills in the rest on the server.
fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": "bench", "tier": "backend" } },
        "spec": { "containers": [{
            "name": "app",
            "image": "registry.k8s.io/pause:3.10",
            "resources": { "requests": { "cpu": "10m", "memory": "16Mi" } },
        }] },
    }))
    .expect("pod fixture")
}

async fn create_namespace(client: &Client, name: &str) {
    let ns: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": name } })).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
}

async fn timed<F, T>(f: F) -> Duration
where
    F: std::future::Future<Output = kube::Result<T>>,
{
    let start = Instant::now();
    if let Err(e) = f.await {
        panic!("request failed: {e}");
    }
    start.elapsed()
}

/// Opens connections and lets lazy paths (first write to a namespace, caches) settle, so that
/// the measured phases see a warm server.
pub async fn warm_up(client: &Client) {
    create_namespace(client, "bench-warmup").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench-warmup");
    for i in 0..30 {
        let name = format!("warm-{i}");
        timed(pods.create(&PostParams::default(), &pod(&name))).await;
        timed(pods.get(&name)).await;
    }
    timed(pods.list(&ListParams::default())).await;
}

/// Runs every phase against `client` once (round `round`, in namespaces of its own) and
/// returns what it measured.
pub async fn run(client: &Client, sizes: Sizes, round: usize) -> Measured {
    let mut m = Measured::default();
    let ns = |phase: &str| format!("bench-{phase}-{round}");
    sequential(client, sizes, &ns("seq"), &mut m).await;
    bulk_create(client, sizes, &ns("bulk"), &mut m).await;
    list(client, sizes, &ns("bulk"), &mut m).await;
    watch(client, sizes, &ns("watch"), &mut m).await;
    m
}

/// One client, one request at a time: the latency a single controller sees.
async fn sequential(client: &Client, sizes: Sizes, ns: &str, m: &mut Measured) {
    create_namespace(client, ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let names: Vec<String> = (0..sizes.sequential).map(|i| format!("seq-{i}")).collect();
    let mut samples = Vec::with_capacity(names.len());
    for name in &names {
        samples.push(timed(pods.create(&PostParams::default(), &pod(name))).await);
    }
    m.create = Latencies::new(samples);

    let mut samples = Vec::with_capacity(names.len());
    for name in &names {
        samples.push(timed(pods.get(name)).await);
    }
    m.get = Latencies::new(samples);

    let mut samples = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let patch = Patch::Merge(json!({ "metadata": { "labels": { "round": i.to_string() } } }));
        samples.push(timed(pods.patch(name, &PatchParams::default(), &patch)).await);
    }
    m.patch = Latencies::new(samples);

    let mut samples = Vec::with_capacity(names.len());
    for name in &names {
        samples.push(timed(pods.delete(name, &DeleteParams::default())).await);
    }
    m.delete = Latencies::new(samples);
}

/// `concurrency` clients sharing one kube-rs client (its connection pool) create `bulk` pods.
async fn bulk_create(client: &Client, sizes: Sizes, ns: &str, m: &mut Measured) {
    create_namespace(client, ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..sizes.concurrency)
        .map(|_| {
            let (pods, next) = (pods.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= sizes.bulk {
                        return samples;
                    }
                    let name = format!("bulk-{i}");
                    samples.push(timed(pods.create(&PostParams::default(), &pod(&name))).await);
                }
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(sizes.bulk);
    for worker in workers {
        samples.extend(worker.await.expect("bulk worker"));
    }
    m.bulk_elapsed = start.elapsed();
    m.bulk = Latencies::new(samples);
}

/// Full lists of the bulk namespace as raw JSON: the server's cost of reading and encoding
/// `bulk` pods, without the client decoding them.
async fn list(client: &Client, sizes: Sizes, ns: &str, m: &mut Measured) {
    let request = || {
        http::Request::get(format!("/api/v1/namespaces/{ns}/pods"))
            .header("accept", "application/json")
            .body(Vec::new())
            .expect("list request")
    };
    // the fixture is right before anything is timed
    let body = client.request_text(request()).await.expect("list");
    let value: serde_json::Value = serde_json::from_str(&body).expect("list JSON");
    let items = value["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        items, sizes.bulk,
        "the bulk namespace should hold every pod"
    );
    m.list_bytes = body.len();

    let mut samples = Vec::with_capacity(sizes.lists);
    for _ in 0..sizes.lists {
        samples.push(timed(client.request_text(request())).await);
    }
    m.list = Latencies::new(samples);
}

/// One watch open on a namespace; each create is timed until its ADDED event arrives.
async fn watch(client: &Client, sizes: Sizes, ns: &str, m: &mut Measured) {
    create_namespace(client, ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let rv = pods
        .list(&ListParams::default())
        .await
        .expect("list before watch")
        .metadata
        .resource_version
        .unwrap_or_default();
    let stream = pods
        .watch(&WatchParams::default().timeout(290), &rv)
        .await
        .expect("watch");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Ok(WatchEvent::Added(pod)) = event {
                let seen = Instant::now();
                if tx
                    .send((pod.metadata.name.unwrap_or_default(), seen))
                    .is_err()
                {
                    return;
                }
            }
        }
    });

    let mut samples = Vec::with_capacity(sizes.watch_events);
    for i in 0..sizes.watch_events {
        let name = format!("watch-{i}");
        let sent = Instant::now();
        timed(pods.create(&PostParams::default(), &pod(&name))).await;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
            match next {
                Ok(Some((seen_name, seen))) if seen_name == name => {
                    samples.push(seen.duration_since(sent));
                    break;
                }
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the watch ended before the ADDED event of {name}"),
                Err(_) => panic!("no ADDED event for {name} within 10 s"),
            }
        }
    }
    reader.abort();
    m.watch = Latencies::new(samples);
}
