//! The hostile-input sweep: for every resource discovery lists, hostile bodies and query
//! parameters through create, update, every patch type, subresources, list, get and delete. Every
//! answer must be a proper `Status` (never a 5xx or a hang), and a refused write must change
//! nothing stored. New kinds are picked up from discovery at run time.

mod hostile;
mod support;

use std::collections::BTreeSet;

use hostile::discovery::{Resource, discover, sweep_read_queries};
use hostile::mutations::{self, Mutation};
use hostile::patches::{json_patches, strategic_directives};
use hostile::{Findings, Http, Lcg, bodies, escape, short, with_query};
use serde_json::{Value, json};
use support::capstan::Capstan;

/// Field paths sampled per kind (each gets every wrong value).
const PATHS_PER_KIND: usize = 3;
/// Stands in for the current resourceVersion in update bodies, replaced just before sending.
const RV_MARK: &str = "hostile-rv-mark";
const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";
const YAML: &str = "application/yaml";
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// Drops what the server sets, so a stored object can serve as a create body again.
fn strip_server_fields(mut v: Value, name: &str) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            m.remove(k);
        }
        m.insert("name".into(), json!(name));
    }
    v
}

fn with_rv(bytes: &[u8], rv: &str) -> Vec<u8> {
    let mark = format!("\"{RV_MARK}\"");
    let needle = mark.as_bytes();
    match bytes.windows(needle.len()).position(|w| w == needle) {
        Some(i) => [
            &bytes[..i],
            format!("\"{rv}\"").as_bytes(),
            &bytes[i + needle.len()..],
        ]
        .concat(),
        None => bytes.to_vec(),
    }
}

/// Tracks one stored object, so every refused write can be checked to have changed nothing.
struct Stored {
    path: String,
    current: Value,
}

impl Stored {
    fn rv(&self) -> String {
        self.current["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Sends a write aimed at this object and checks it: refused means unchanged.
    #[allow(clippy::too_many_arguments)] // a request's parts, kept flat for the many call sites
    async fn write(
        &mut self,
        http: &mut Http,
        f: &mut Findings,
        method: &str,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
        what: String,
    ) -> u16 {
        let bytes = with_rv(&bytes, &self.rv());
        let reply = http.send(method, path, Some(content_type), bytes).await;
        let refused = f.check(&what, &reply);
        let now = http.get(&self.path).await;
        match now {
            Some(now) if refused && now != self.current => {
                f.add(
                    format!(
                        "{what}: refused with {} but the stored object changed",
                        reply.code
                    ),
                    short(&reply.body),
                );
                self.current = now;
            }
            Some(now) => self.current = now,
            None => f.add(format!("{what}: the object is gone"), short(&reply.body)),
        }
        reply.code
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_sweep() {
    // HOSTILE_ON_ETCD=1 runs the sweep on etcd storage instead of the embedded store
    let etcd = std::env::var_os("HOSTILE_ON_ETCD").map(|_| support::etcd::Etcd::start());
    let c = Capstan::start_with(support::capstan::Start {
        etcd: etcd.as_ref().map(|e| e.endpoint.clone()),
        args: Vec::new(),
    });
    let mut http = Http::new(c.client().await);
    let mut f = Findings::default();
    let mut rng = Lcg(0x5eed_cafe);
    let started = std::time::Instant::now();
    let resources = discover(&mut http).await;
    let tops: Vec<&Resource> = resources.iter().filter(|r| !r.name.contains('/')).collect();
    assert!(tops.len() > 5, "discovery found too little: {resources:?}");
    for r in &tops {
        let subs: Vec<&Resource> = resources
            .iter()
            .filter(|s| s.prefix == r.prefix && s.name.starts_with(&format!("{}/", r.name)))
            .collect();
        let t = std::time::Instant::now();
        let n = http.sent;
        sweep_kind(&mut http, &mut f, &mut rng, r, &subs).await;
        eprintln!(
            "{}: {} requests in {:?}",
            r.what(),
            http.sent - n,
            t.elapsed()
        );
    }
    let ready = http.send("GET", "/readyz", None, Vec::new()).await;
    assert_eq!(ready.code, 200, "not ready after the sweep: {}", ready.body);
    let log = c.log_text();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    eprintln!(
        "hostile sweep: {} resources, {} requests ({} kube-parity 500s), {:?}",
        resources.len(),
        http.sent,
        f.kube_500s,
        started.elapsed()
    );
    assert!(
        f.list.is_empty(),
        "{} findings:\n{}",
        f.list.len(),
        f.list.join("\n")
    );
}

async fn sweep_kind(
    http: &mut Http,
    f: &mut Findings,
    rng: &mut Lcg,
    r: &Resource,
    subs: &[&Resource],
) {
    let ns = r.namespaced.then_some("default");
    let coll = r.collection();
    let what = r.what();
    sweep_read_queries(http, f, r).await;
    if !r.can("create") {
        return;
    }
    let before: BTreeSet<String> = list_names(http, r).await;
    let base_name = format!("hostile-{}", r.name.replace('.', "-"));
    let valid = bodies::valid(&r.group_version, &r.kind, &base_name, ns);
    let reply = http
        .send(
            "POST",
            &coll,
            Some(JSON),
            serde_json::to_vec(&valid).expect("json"),
        )
        .await;
    if !(200..300).contains(&reply.code) {
        f.add(
            format!("{what}: the sweep's valid body was refused ({}); add one to tests/hostile/bodies.rs", reply.code),
            short(&reply.body),
        );
        return;
    }
    let created = reply.body;
    let template = strip_server_fields(created.clone(), "hostile-c");

    // create
    let mut accepted = BTreeSet::new();
    let mut creates: Vec<(Mutation, &str)> = mutations::json_bodies(&template, rng, PATHS_PER_KIND)
        .into_iter()
        .chain(mutations::resource_versions(&template))
        .map(|m| (m, JSON))
        .collect();
    creates.extend(
        mutations::yaml_bodies(&template)
            .into_iter()
            .map(|m| (m, YAML)),
    );
    creates.extend(
        mutations::protobuf_bodies(rng)
            .into_iter()
            .map(|m| (m, PROTOBUF)),
    );
    for (m, ct) in creates {
        let label = format!("{what} create [{ct}] {}", m.label);
        let reply = http
            .send(
                "POST",
                &with_query(&coll, &m.query),
                Some(ct),
                m.bytes.clone(),
            )
            .await;
        let refused = f.check(&label, &reply);
        expect_code(f, &label, &m, reply.code);
        if !refused
            && r.can("get")
            && let Some(n) = reply.body["metadata"]["name"].as_str()
        {
            accepted.insert(n.to_string());
            let _ = http
                .send(
                    "DELETE",
                    &format!("{coll}/{}?gracePeriodSeconds=0", escape(n)),
                    None,
                    Vec::new(),
                )
                .await;
        }
    }
    if r.can("list") {
        let after = list_names(http, r).await;
        for n in after {
            if n != base_name && !before.contains(&n) && !accepted.contains(&n) {
                f.add(
                    format!("{what}: a refused create stored {n:?}"),
                    String::new(),
                );
            }
        }
    }
    if !r.can("get") {
        return;
    }
    let path = format!("{coll}/{base_name}");
    let current = http.get(&path).await.expect("base object");
    let mut stored = Stored {
        path: path.clone(),
        current: current.clone(),
    };
    let mut template = current.clone();
    template["metadata"]["resourceVersion"] = json!(RV_MARK);
    if let Some(m) = template["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    let bodies = mutations::json_bodies(&template, rng, PATHS_PER_KIND);

    // update and patch, each hostile body through one of PUT, merge, strategic and apply in turn
    let verbs: Vec<&str> = [
        (r.can("update"), "PUT"),
        (r.can("patch"), MERGE),
        (r.can("patch"), STRATEGIC),
        (r.can("patch"), APPLY),
    ]
    .iter()
    .filter(|(ok, _)| *ok)
    .map(|(_, v)| *v)
    .collect();
    if !verbs.is_empty() {
        let mut all = bodies.clone();
        all.extend(mutations::resource_versions(&template));
        for (i, m) in all.into_iter().enumerate() {
            let verb = verbs[i % verbs.len()];
            let (method, ct, mut q) = match verb {
                "PUT" => ("PUT", JSON, m.query.clone()),
                ct => ("PATCH", ct, m.query.clone()),
            };
            if ct == APPLY {
                q = [q.as_str(), "fieldManager=hostile&force=true"]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("&");
            }
            let label = format!("{what} {verb} {}", m.label);
            let code = stored
                .write(
                    http,
                    f,
                    method,
                    &with_query(&path, &q),
                    ct,
                    m.bytes.clone(),
                    label.clone(),
                )
                .await;
            // kube answers a strict strategic patch's unknown fields with 422 Invalid
            // (applyPatchToObject in patch.go), the other decoders with 400
            let m = if ct == STRATEGIC && m.expect.is_some() {
                Mutation {
                    expect: Some(422),
                    ..m
                }
            } else {
                m
            };
            expect_code(f, &label, &m, code);
        }
    }
    if r.can("update") {
        for m in mutations::protobuf_bodies(rng)
            .into_iter()
            .chain(mutations::yaml_bodies(&template))
        {
            let ct = if m.label.starts_with("YAML") {
                YAML
            } else {
                PROTOBUF
            };
            let label = format!("{what} update [{ct}] {}", m.label);
            stored
                .write(http, f, "PUT", &path, ct, m.bytes, label)
                .await;
        }
    }

    // patch: hostile YAML through apply, protobuf, JSON patch, strategic directives
    if r.can("patch") {
        for m in mutations::yaml_bodies(&template) {
            let label = format!("{what} patch [apply] {}", m.label);
            let p = format!("{path}?fieldManager=hostile");
            stored
                .write(http, f, "PATCH", &p, APPLY, m.bytes, label)
                .await;
        }
        for m in mutations::protobuf_bodies(rng) {
            let label = format!("{what} patch [protobuf] {}", m.label);
            stored
                .write(http, f, "PATCH", &path, PROTOBUF, m.bytes, label)
                .await;
        }
        for (label, body) in json_patches(&template, rng, PATHS_PER_KIND) {
            let label = format!("{what} patch [json] {label}");
            stored
                .write(http, f, "PATCH", &path, JSON_PATCH, body, label)
                .await;
        }
        for (label, body) in strategic_directives() {
            let label = format!("{what} patch [strategic] {label}");
            stored
                .write(http, f, "PATCH", &path, STRATEGIC, body, label)
                .await;
        }
        for (label, q, ct, body) in [
            ("apply without fieldManager", "", APPLY, b"{}".to_vec()),
            (
                "force=bogus",
                "fieldManager=h&force=bogus",
                APPLY,
                b"{}".to_vec(),
            ),
            ("force without apply", "force=true", MERGE, b"{}".to_vec()),
            (
                "fieldManager too long",
                &*format!("fieldManager={}", "m".repeat(200)),
                MERGE,
                b"{}".to_vec(),
            ),
            (
                "fieldManager control char",
                "fieldManager=a%01b",
                MERGE,
                b"{}".to_vec(),
            ),
            (
                "dryRun=bogus",
                "dryRun=bogus",
                MERGE,
                b"{\"metadata\":{\"labels\":{\"d\":\"r\"}}}".to_vec(),
            ),
            (
                "fieldValidation=bogus",
                "fieldValidation=bogus",
                MERGE,
                b"{}".to_vec(),
            ),
            (
                "unknown patch type",
                "",
                "application/bogus-patch+json",
                b"{}".to_vec(),
            ),
        ] {
            let label = format!("{what} patch {label}");
            stored
                .write(http, f, "PATCH", &with_query(&path, q), ct, body, label)
                .await;
        }
    }

    // subresources that take writes
    for s in subs {
        sweep_subresource(http, f, rng, s, &mut stored, &template).await;
    }

    // garbage write queries, then delete and deletecollection (last: a delete may succeed)
    for q in [
        "dryRun=bogus",
        "fieldValidation=bogus",
        "pretty=bogus",
        "fieldManager=a%00b",
    ] {
        let body =
            serde_json::to_vec(&strip_server_fields(current.clone(), "hostile-q")).expect("json");
        let label = format!("{what} create ?{q}");
        let reply = http
            .send("POST", &with_query(&coll, q), Some(JSON), body)
            .await;
        if !f.check(&label, &reply) {
            let _ = http
                .send(
                    "DELETE",
                    &format!("{coll}/hostile-q?gracePeriodSeconds=0"),
                    None,
                    Vec::new(),
                )
                .await;
        }
    }
    if r.can("deletecollection") {
        for q in [
            "labelSelector=a%20in%20(",
            "fieldSelector=a%3D%3Db%3D%3Dc",
            "dryRun=bogus",
            "propagationPolicy=bogus",
            "gracePeriodSeconds=abc",
            "continue=garbage",
            "limit=abc",
        ] {
            let label = format!("{what} deletecollection ?{q}");
            let reply = http
                .send("DELETE", &with_query(&coll, q), None, Vec::new())
                .await;
            if !f.check(&label, &reply) {
                f.add(format!("{label}: accepted"), short(&reply.body));
            }
            if http.get(&path).await.is_none() {
                f.add(format!("{label}: deleted the object"), short(&reply.body));
                return;
            }
        }
    }
    if r.can("delete") {
        for (q, body) in [
            ("propagationPolicy=bogus", Vec::new()),
            ("gracePeriodSeconds=abc", Vec::new()),
            ("dryRun=bogus", Vec::new()),
            ("orphanDependents=bogus", Vec::new()),
            ("", b"not json".to_vec()),
            ("", b"{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"bogus\"}".to_vec()),
            ("", b"{\"preconditions\":{\"uid\":5}}".to_vec()),
            ("", b"{\"preconditions\":{\"resourceVersion\":\"1\"}}".to_vec()),
            ("", b"{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}".to_vec()),
            ("", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
            ("gracePeriodSeconds=-10", Vec::new()),
        ] {
            let label = format!("{what} delete ?{q} body {:.40}", String::from_utf8_lossy(&body));
            let ct = (!body.is_empty()).then_some(JSON);
            let reply = http.send("DELETE", &with_query(&path, q), ct, body).await;
            let refused = f.check(&label, &reply);
            if refused && http.get(&path).await.as_ref() != Some(&stored.current) {
                f.add(format!("{label}: refused but the object changed"), short(&reply.body));
                return;
            }
            if !refused {
                return;
            }
        }
    }
}

fn expect_code(f: &mut Findings, label: &str, m: &Mutation, code: u16) {
    if let Some(want) = m.expect
        && code != want
    {
        f.add(
            format!("{label}: answered {code}, kube answers {want}"),
            String::new(),
        );
    }
}

async fn list_names(http: &mut Http, r: &Resource) -> BTreeSet<String> {
    if !r.can("list") {
        return BTreeSet::new();
    }
    let list = http.get(&r.collection()).await.unwrap_or_default();
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Hostile bodies through a subresource's writes.
async fn sweep_subresource(
    http: &mut Http,
    f: &mut Findings,
    rng: &mut Lcg,
    s: &Resource,
    stored: &mut Stored,
    template: &Value,
) {
    let sub = s.name.split('/').nth(1).unwrap_or_default();
    let path = format!("{}/{sub}", stored.path);
    let what = s.what();
    // the subresource's own object when it has one (scale), else the parent's
    let own = if s.can("get") {
        http.get(&path).await
    } else {
        None
    };
    let mut body = own.unwrap_or_else(|| template.clone());
    if body.get("metadata").is_some() {
        body["metadata"]["resourceVersion"] = json!(RV_MARK);
    }
    // one field path, and the structural mutations a subresource decoder could trip on
    let mut bodies: Vec<Mutation> = mutations::json_bodies(&body, rng, 1)
        .into_iter()
        .filter(|m| {
            m.label.starts_with('/')
                || [
                    "invalid UTF-8 in a label",
                    "body arrays 10000 deep",
                    "truncated body",
                    "kind Nope",
                ]
                .contains(&m.label.as_str())
                || m.label.contains("fieldValidation=Strict")
        })
        .collect();
    bodies.extend(mutations::protobuf_bodies(rng));
    for (i, m) in bodies.into_iter().enumerate() {
        let ct = if m.label.starts_with("protobuf") {
            PROTOBUF
        } else {
            JSON
        };
        if s.can("update") {
            let label = format!("{what} update [{ct}] {}", m.label);
            stored
                .write(http, f, "PUT", &path, ct, m.bytes.clone(), label)
                .await;
        }
        if s.can("patch") && ct == JSON {
            let pt = [MERGE, STRATEGIC, JSON_PATCH][i % 3];
            let label = format!("{what} patch [{pt}] {}", m.label);
            stored
                .write(http, f, "PATCH", &path, pt, m.bytes.clone(), label)
                .await;
        }
        if s.can("create") && !s.can("update") {
            // binding and eviction: only the reply is checked; an accepted one acts on the pod
            let label = format!("{what} create [{ct}] {}", m.label);
            let reply = http.send("POST", &path, Some(ct), m.bytes).await;
            f.check(&label, &reply);
            if let Some(now) = http.get(&stored.path).await {
                stored.current = now;
            }
        }
    }
}
