//! kube-rs writes and controllers against a real Capstan: every `Patch` flavour on core and
//! capstan.dev pods, the status subresource (`replace_status`, `patch_status`), `Api::entry`,
//! a `kube::runtime::Controller` keeping a status field on capstan.dev pods (and settling: no
//! reconcile loop fed by its own no-op writes), and `watcher` surviving a Capstan restart and a
//! 410 after compaction.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use capstan::api::types::CapstanPod;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use support::capstan::{Capstan, Start};

fn core_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }))
    .unwrap()
}

fn capstan_pod(name: &str) -> CapstanPod {
    serde_json::from_value(json!({
        "apiVersion": "capstan.dev/v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }))
    .unwrap()
}

async fn start(args: &[&str]) -> (Capstan, Client) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let capstan = tokio::task::spawn_blocking(move || {
        Capstan::start_with(Start {
            args,
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let client = capstan.client().await;
    (capstan, client)
}

/// Applies each patch flavour to `name` through `api` and checks what it left.
async fn patch_every_way<K>(api: &Api<K>, name: &str, api_version: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let json_of = |k: &K| serde_json::to_value(k).unwrap();
    let pp = PatchParams::default();

    let merged = api
        .patch(
            name,
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"merge": "yes"}}})),
        )
        .await
        .unwrap();
    assert_eq!(json_of(&merged)["metadata"]["labels"]["merge"], "yes");

    // Strategic: containers merge by name (pods may change an image, not add a container).
    let strategic = api
        .patch(
            name,
            &pp,
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}}),
            ),
        )
        .await
        .unwrap();
    let containers = &json_of(&strategic)["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 1, "{containers}");
    assert_eq!(containers[0]["image"], "busybox:1.37");

    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/labels/merge", "value": "yes"},
        {"op": "add", "path": "/metadata/annotations", "value": {"json": "yes"}},
    ]))
    .unwrap();
    let jsoned = api
        .patch(name, &pp, &Patch::Json::<()>(patch))
        .await
        .unwrap();
    assert_eq!(json_of(&jsoned)["metadata"]["annotations"]["json"], "yes");

    // A failed JSON patch test is kube's 422.
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/labels/merge", "value": "no"},
    ]))
    .unwrap();
    match api.patch(name, &pp, &Patch::Json::<()>(failing)).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 422, "{e:?}"),
        other => panic!("a failing test op: {other:?}"),
    }

    // Server-side apply by a second manager; force takes the image over.
    let applied = api
        .patch(
            name,
            &PatchParams::apply("kube-rs-test").force(),
            &Patch::Apply(json!({
                "apiVersion": api_version, "kind": "Pod",
                "metadata": {"name": name, "labels": {"applied": "yes"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.38"}]},
            })),
        )
        .await
        .unwrap();
    let applied = json_of(&applied);
    assert_eq!(applied["metadata"]["labels"]["applied"], "yes");
    assert_eq!(applied["metadata"]["labels"]["merge"], "yes");
    assert_eq!(applied["spec"]["containers"][0]["image"], "busybox:1.38");
    let managers: Vec<&str> = applied["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"kube-rs-test"), "{managers:?}");

    // Without force, taking a field another manager owns is a 409 conflict.
    let conflict = api
        .patch(
            name,
            &PatchParams::apply("someone-else"),
            &Patch::Apply(json!({
                "apiVersion": api_version, "kind": "Pod",
                "metadata": {"name": name},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.39"}]},
            })),
        )
        .await;
    match conflict {
        Err(kube::Error::Api(e)) => assert_eq!((e.code, e.reason.as_str()), (409, "Conflict")),
        other => panic!("an apply conflict: {other:?}"),
    }
}

#[tokio::test]
async fn every_patch_flavour_on_core_and_capstan_pods() {
    let (_c, client) = start(&[]).await;
    let core: Api<Pod> = Api::namespaced(client.clone(), "default");
    core.create(&PostParams::default(), &core_pod("patched"))
        .await
        .unwrap();
    patch_every_way(&core, "patched", "v1").await;

    let ours: Api<CapstanPod> = Api::namespaced(client, "default");
    ours.create(&PostParams::default(), &capstan_pod("patched"))
        .await
        .unwrap();
    patch_every_way(&ours, "patched", "capstan.dev/v1").await;
}

#[tokio::test]
async fn status_subresource_and_entry() {
    let (_c, client) = start(&[]).await;
    let pods: Api<CapstanPod> = Api::namespaced(client.clone(), "default");
    let created = pods
        .create(&PostParams::default(), &capstan_pod("st"))
        .await
        .unwrap();

    // replace_status writes status and nothing else.
    let mut pod = pods.get_status("st").await.unwrap();
    let mut status = pod.status.clone().unwrap_or_default();
    status.phase = Some("Running".into());
    status.message = Some("replaced".into());
    pod.status = Some(status);
    pod.spec.pod.active_deadline_seconds = Some(5);
    let replaced = pods
        .replace_status("st", &PostParams::default(), &pod)
        .await
        .unwrap();
    let status = replaced.status.clone().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.message.as_deref(), Some("replaced"));
    assert_eq!(replaced.spec.pod.active_deadline_seconds, None);
    assert_eq!(replaced.metadata.generation, created.metadata.generation);

    // A stale resourceVersion is a conflict.
    pod.metadata.resource_version = created.metadata.resource_version.clone();
    match pods
        .replace_status("st", &PostParams::default(), &pod)
        .await
    {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 409),
        other => panic!("a stale replace_status: {other:?}"),
    }

    let patched = pods
        .patch_status(
            "st",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"message": "patched"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.unwrap().message.as_deref(), Some("patched"));
    let applied = pods
        .patch_status(
            "st",
            &PatchParams::apply("status-owner").force(),
            &Patch::Apply(json!({
                "apiVersion": "capstan.dev/v1", "kind": "Pod",
                "metadata": {"name": "st"},
                "status": {"reason": "Applied"},
            })),
        )
        .await
        .unwrap();
    assert_eq!(applied.status.unwrap().reason.as_deref(), Some("Applied"));

    // Api::entry: create when missing, modify and commit when present.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "default");
    let mut entry = cms
        .entry("settings")
        .await
        .unwrap()
        .or_insert(|| serde_json::from_value(json!({"data": {"a": "1"}})).unwrap());
    entry.commit(&PostParams::default()).await.unwrap();
    let first = entry.get().clone();
    assert_eq!(first.data.as_ref().unwrap()["a"], "1");
    let mut entry = cms.entry("settings").await.unwrap().and_modify(|cm| {
        cm.data
            .get_or_insert_default()
            .insert("b".into(), "2".into());
    });
    if let kube::api::entry::Entry::Occupied(e) = &mut entry {
        e.commit(&PostParams::default()).await.unwrap();
    } else {
        panic!("settings exists");
    }
    let stored = cms.get("settings").await.unwrap();
    assert_eq!(stored.data.as_ref().unwrap()["b"], "2");
    assert_ne!(stored.resource_version(), first.resource_version());
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(#[from] kube::Error);

struct Ctx {
    client: Client,
    reconciles: AtomicUsize,
}

/// Marks each pod observed: a `Reconciled` condition and status.observedGeneration. Writing the
/// same status again changes nothing, so the controller's own writes must not keep it busy.
async fn reconcile(pod: Arc<CapstanPod>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let api: Api<CapstanPod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap());
    let generation = pod.metadata.generation.unwrap_or_default();
    let patch = json!({
        "apiVersion": "capstan.dev/v1", "kind": "Pod",
        "status": {
            "observedGeneration": generation,
            "conditions": [{"type": "Reconciled", "status": "True", "reason": "Seen",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        },
    });
    api.patch_status(
        &pod.name_any(),
        &PatchParams::apply("capstan-test-controller").force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<CapstanPod>, _: &ReconcileError, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

fn observed(pod: &CapstanPod) -> Option<i64> {
    let status = pod.status.as_ref()?;
    let reconciled = status
        .conditions
        .as_ref()?
        .iter()
        .any(|c| c.type_ == "Reconciled" && c.status == "True");
    reconciled.then_some(status.observed_generation?)
}

async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_runtime_controller_reconciles_capstan_pods_and_settles() {
    let (_c, client) = start(&[]).await;
    let pods: Api<CapstanPod> = Api::namespaced(client.clone(), "default");
    for name in ["c1", "c2", "c3"] {
        pods.create(&PostParams::default(), &capstan_pod(name))
            .await
            .unwrap();
    }
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        reconciles: AtomicUsize::new(0),
    });
    let controller = Controller::new(pods.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let running = tokio::spawn(controller);

    wait_until("every pod reconciled at generation 1", async || {
        let list = pods.list(&Default::default()).await.unwrap();
        list.items.iter().all(|p| observed(p) == Some(1))
    })
    .await;

    // A spec change bumps the generation; the controller catches up.
    pods.patch(
        "c2",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"activeDeadlineSeconds": 60}})),
    )
    .await
    .unwrap();
    wait_until("c2 observed at generation 2", async || {
        observed(&pods.get("c2").await.unwrap()) == Some(2)
    })
    .await;

    // Its own no-op applies must not feed it: reconciles stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = ctx.reconciles.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ctx.reconciles.load(Ordering::SeqCst),
        settled,
        "the controller keeps reconciling after its writes settled"
    );
    running.abort();
}

type Names = BTreeSet<String>;
type Events = futures::stream::BoxStream<'static, watcher::Result<Event<Pod>>>;

/// The names a reflector would hold, updated with one `watcher` event (`buffer` holds a relist
/// until it is done).
fn apply(store: &mut Names, buffer: &mut Option<Names>, event: &Event<Pod>) {
    match event {
        Event::Init => *buffer = Some(Default::default()),
        Event::InitApply(p) => {
            buffer.get_or_insert_default().insert(p.name_any());
        }
        Event::InitDone => *store = buffer.take().unwrap_or_default(),
        Event::Apply(p) => {
            store.insert(p.name_any());
        }
        Event::Delete(p) => {
            store.remove(&p.name_any());
        }
    }
}

/// Reads the next watcher event into `store` (counting relists in `inits`); `Err` when the
/// watcher reported an error (it goes on after one).
async fn next(
    stream: &mut Events,
    store: &mut Names,
    buffer: &mut Option<Names>,
    inits: &mut usize,
) -> Result<(), watcher::Error> {
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watcher event within 10s")
        .expect("the watcher goes on");
    let event = event?;
    if matches!(event, Event::Init) {
        *inits += 1;
    }
    apply(store, buffer, &event);
    Ok(())
}

#[tokio::test]
async fn watcher_survives_a_restart_and_relists_after_410() {
    let (mut c, _) = start(&["--etcd-compaction-interval=1s"]).await;
    let sent = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = sent.clone();
    let record =
        tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
            log.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.uri()));
            req
        });
    let kubeconfig = kube::config::Kubeconfig::read_from(&c.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::client::ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&record)
        .build();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &core_pod("w1"))
        .await
        .unwrap();
    // Short watches, so that the next one starts from the resourceVersion the last one reached.
    let config = watcher::Config::default().timeout(1);
    let mut stream: Events = watcher::watcher(pods.clone(), config)
        .default_backoff()
        .boxed();
    let mut store = Names::new();
    let mut buffer = None;
    let mut inits = 0;
    while store.is_empty() {
        next(&mut stream, &mut store, &mut buffer, &mut inits)
            .await
            .unwrap();
    }
    assert_eq!(inits, 1);
    // A watch is open once a change made now arrives.
    pods.create(&PostParams::default(), &core_pod("w0"))
        .await
        .unwrap();
    while !store.contains("w0") {
        next(&mut stream, &mut store, &mut buffer, &mut inits)
            .await
            .unwrap();
    }

    // Restart: the watcher reconnects (errors while the server is away are expected) and follows.
    let c = tokio::task::spawn_blocking(move || {
        c.restart();
        c
    })
    .await
    .unwrap();
    pods.create(&PostParams::default(), &core_pod("w2"))
        .await
        .unwrap();
    while !store.contains("w2") {
        let _ = next(&mut stream, &mut store, &mut buffer, &mut inits).await;
    }

    // Stop reading: the current watch ends server-side after a second and no new one starts, so
    // the watcher will resume from a revision at or below `resume`. Meanwhile pods change and
    // compaction removes `resume`.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resume = pods
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    pods.delete("w1", &Default::default()).await.unwrap();
    pods.create(&PostParams::default(), &core_pod("w3"))
        .await
        .unwrap();
    wait_until("the watcher's revision compacted", async || {
        let _ = pods
            .patch("w3", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"t": format!("{:?}", std::time::Instant::now())}}})))
            .await;
        let lp = kube::api::ListParams::default()
            .at(&resume)
            .matching(kube::api::VersionMatch::Exact);
        matches!(pods.list(&lp).await, Err(kube::Error::Api(e)) if e.code == 410)
    })
    .await;

    // Reading again: the watch from the old revision gets 410 and the watcher relists.
    let before = inits;
    let mut errors = 0;
    while !(store.contains("w3") && !store.contains("w1") && inits > before) {
        if next(&mut stream, &mut store, &mut buffer, &mut inits)
            .await
            .is_err()
        {
            errors += 1;
        }
        assert!(errors < 5, "the watcher keeps failing after the 410");
    }
    assert_eq!(
        store.iter().cloned().collect::<Vec<_>>(),
        ["w0", "w2", "w3"],
        "log: {}",
        support::capstan::tail(&c.log_text(), 20)
    );
    // It listed twice: at the start and after the 410; the restart only cost a rewatch.
    let lists = sent
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.contains("limit=500"))
        .count();
    assert_eq!(lists, 2, "{:#?}", sent.lock().unwrap());
}
