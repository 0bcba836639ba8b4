//! kube-rs acceptance: `kube::runtime::watcher` with the default list-then-watch and with
//! streaming lists (watch-list), `reflector` keeping a store, and a metadata-only watcher (kube 5's
//! replacement for `metadata_watcher`: `watcher` over `Api<PartialObjectMeta<Pod>>`), each against
//! a real Capstan, seeing add, update and delete. A tower layer records the requests the client
//! sends, so each test also checks which protocol was used.

mod support;

use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::client::ClientBuilder;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use support::capstan::Capstan;
use tokio::sync::mpsc;

/// One request the client sent: its method, path and query, and its Accept header.
#[derive(Clone, Debug)]
struct Sent {
    method: String,
    uri: String,
    accept: String,
}

impl Sent {
    fn has(&self, param: &str) -> bool {
        self.uri
            .split_once('?')
            .is_some_and(|(_, q)| q.split('&').any(|p| p == param))
    }
}

struct Setup {
    _capstan: Capstan,
    client: Client,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Setup {
    async fn start() -> Self {
        let capstan = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
        let kubeconfig = kube::config::Kubeconfig::read_from(&capstan.kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        let record =
            tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
                let accept = req
                    .headers()
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                log.lock().unwrap().push(Sent {
                    method: req.method().to_string(),
                    uri: req.uri().to_string(),
                    accept,
                });
                req
            });
        let client = ClientBuilder::try_from(config)
            .unwrap()
            .with_layer(&record)
            .build();
        Self {
            _capstan: capstan,
            client,
            sent,
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// The reads (lists and watches) sent for the pods collection in `default`.
    fn pod_requests(&self) -> Vec<Sent> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == "GET" && s.uri.starts_with("/api/v1/namespaces/default/pods?"))
            .cloned()
            .collect()
    }

    async fn create(&self, name: &str) -> Pod {
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }))
        .unwrap();
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .unwrap()
    }

    async fn label(&self, name: &str) -> Pod {
        let patch = Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}}));
        self.pods()
            .patch(name, &PatchParams::default(), &patch)
            .await
            .unwrap()
    }

    async fn delete(&self, name: &str) {
        self.pods()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
}

/// What a watcher event says, reduced to what the tests compare.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Init,
    InitApply(String),
    InitDone,
    Apply(String, Option<String>),
    Delete(String),
}

fn seen<K: Resource>(event: &Event<K>) -> Seen {
    match event {
        Event::Init => Seen::Init,
        Event::InitApply(o) => Seen::InitApply(o.name_any()),
        Event::InitDone => Seen::InitDone,
        Event::Apply(o) => Seen::Apply(
            o.name_any(),
            o.labels().get("tier").map(ToString::to_string),
        ),
        Event::Delete(o) => Seen::Delete(o.name_any()),
    }
}

/// Drives `stream` in the background, passing each event on (after `inspect`).
fn follow<K, S>(stream: S, inspect: impl Fn(&K) + Send + 'static) -> mpsc::UnboundedReceiver<Seen>
where
    K: Resource + Debug + Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    if let Event::Apply(o) | Event::InitApply(o) | Event::Delete(o) = &event {
                        inspect(o);
                    }
                    if tx.send(seen(&event)).is_err() {
                        return;
                    }
                }
                Err(err) => panic!("watcher error: {err}"),
            }
        }
    });
    rx
}

/// The next `n` events, within 30 s.
async fn take(rx: &mut mpsc::UnboundedReceiver<Seen>, n: usize) -> Vec<Seen> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(event)) => out.push(event),
            _ => panic!("only {out:?} arrived; expected {n} events"),
        }
    }
    out
}

/// The initial sync: `Init`, one `InitApply` per name (in list order), `InitDone`.
fn initial(names: &[&str]) -> Vec<Seen> {
    let mut events = VecDeque::from_iter(names.iter().map(|n| Seen::InitApply(n.to_string())));
    events.push_front(Seen::Init);
    events.push_back(Seen::InitDone);
    events.into()
}

/// Creates, labels and deletes `c`, and checks the watcher sees exactly that.
async fn changes_arrive_in_order(setup: &Setup, rx: &mut mpsc::UnboundedReceiver<Seen>) {
    setup.create("c").await;
    assert_eq!(take(rx, 1).await, [Seen::Apply("c".into(), None)]);
    setup.label("c").await;
    assert_eq!(
        take(rx, 1).await,
        [Seen::Apply("c".into(), Some("web".into()))]
    );
    setup.delete("c").await;
    // Deleting may first mark the pod (deletionTimestamp) before removing it.
    let mut events = take(rx, 1).await;
    while events.last() != Some(&Seen::Delete("c".into())) {
        assert_eq!(
            events.last(),
            Some(&Seen::Apply("c".into(), Some("web".into())))
        );
        events.extend(take(rx, 1).await);
    }
}

#[tokio::test]
async fn watcher_lists_then_watches_by_default() {
    let setup = Setup::start().await;
    setup.create("a").await;
    setup.create("b").await;
    let mut rx = follow(
        watcher::watcher(setup.pods(), watcher::Config::default()),
        |_: &Pod| {},
    );
    assert_eq!(take(&mut rx, 4).await, initial(&["a", "b"]));
    changes_arrive_in_order(&setup, &mut rx).await;

    let requests = setup.pod_requests();
    assert!(!requests[0].has("watch=true"), "a LIST first: {requests:?}");
    assert!(requests[1].has("watch=true"), "{requests:?}");
    assert!(!requests.iter().any(|r| r.has("sendInitialEvents=true")));
}

#[tokio::test]
async fn watcher_with_streaming_lists_uses_watch_list() {
    let setup = Setup::start().await;
    setup.create("a").await;
    setup.create("b").await;
    let config = watcher::Config::default().streaming_lists();
    let mut rx = follow(watcher::watcher(setup.pods(), config), |_: &Pod| {});
    // InitDone comes only after the bookmark annotated k8s.io/initial-events-end.
    assert_eq!(take(&mut rx, 4).await, initial(&["a", "b"]));
    changes_arrive_in_order(&setup, &mut rx).await;

    let requests = setup.pod_requests();
    let first = &requests[0];
    for param in [
        "watch=true",
        "sendInitialEvents=true",
        "resourceVersionMatch=NotOlderThan",
        "allowWatchBookmarks=true",
    ] {
        assert!(first.has(param), "{param} in {first:?}");
    }
    assert!(
        requests.iter().all(|r| r.has("watch=true")),
        "no LIST: {requests:?}"
    );
}

#[tokio::test]
async fn reflector_keeps_a_store_in_step() {
    let setup = Setup::start().await;
    setup.create("a").await;
    let (reader, writer) = reflector::store::<Pod>();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(setup.pods(), watcher::Config::default()),
    )
    .applied_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            item.expect("reflector stream");
        }
    });
    tokio::time::timeout(Duration::from_secs(30), reader.wait_until_ready())
        .await
        .expect("the store became ready")
        .unwrap();
    let names = |reader: &reflector::Store<Pod>| {
        let mut names: Vec<String> = reader.state().iter().map(|p| p.name_any()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&reader), ["a"]);

    let until = |what: &'static str, done: Box<dyn Fn() -> bool + Send>| async move {
        for _ in 0..300 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the store never showed {what}");
    };
    let key = ObjectRef::<Pod>::new("b").within("default");
    setup.create("b").await;
    let (r, k) = (reader.clone(), key.clone());
    until("b", Box::new(move || r.get(&k).is_some())).await;
    let labelled = setup.label("b").await;
    let (r, k) = (reader.clone(), key.clone());
    until(
        "b's label",
        Box::new(move || {
            r.get(&k).is_some_and(|p| {
                p.labels().get("tier").map(String::as_str) == Some("web")
                    && p.resource_version() == labelled.resource_version()
            })
        }),
    )
    .await;
    setup.delete("b").await;
    let (r, k) = (reader.clone(), key.clone());
    until("b gone", Box::new(move || r.get(&k).is_none())).await;
    assert_eq!(names(&reader), ["a"]);
}

#[tokio::test]
async fn metadata_watcher_sees_only_metadata() {
    let setup = Setup::start().await;
    setup.create("a").await;
    for config in [
        watcher::Config::default(),
        watcher::Config::default().streaming_lists(),
    ] {
        // kube 5's form of `metadata_watcher`: an `Api` of PartialObjectMeta makes every request
        // metadata-only.
        let api: Api<PartialObjectMeta<Pod>> = Api::namespaced(setup.client.clone(), "default");
        let mut rx = follow(
            watcher::watcher(api, config),
            |meta: &PartialObjectMeta<Pod>| {
                let types = meta.types.as_ref().expect("typed");
                assert_eq!(
                    (types.api_version.as_str(), types.kind.as_str()),
                    ("meta.k8s.io/v1", "PartialObjectMetadata")
                );
            },
        );
        assert_eq!(take(&mut rx, 3).await, initial(&["a"]));
        changes_arrive_in_order(&setup, &mut rx).await;
    }
    let requests = setup.pod_requests();
    assert!(
        requests
            .iter()
            .all(|r| r.accept.contains("g=meta.k8s.io;v=v1")),
        "every request asked for metadata only: {requests:?}"
    );
    assert!(requests.iter().any(|r| r.has("sendInitialEvents=true")));
}

/// kube-rs's aggregated discovery (two requests, `/apis` and `/api`) finds exactly what its
/// legacy walk over every group-version finds.
#[tokio::test]
async fn aggregated_discovery_matches_the_legacy_walk() {
    use kube::discovery::Discovery;

    fn summary(discovery: &Discovery) -> Vec<String> {
        let mut out = Vec::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let mut verbs = caps.operations.clone();
                    verbs.sort();
                    let mut subresources: Vec<String> = caps
                        .subresources
                        .iter()
                        .map(|(sub, sub_caps)| {
                            let mut verbs = sub_caps.operations.clone();
                            verbs.sort();
                            format!("{}{verbs:?}", sub.plural)
                        })
                        .collect();
                    subresources.sort();
                    out.push(format!(
                        "{} {} {} {:?} {verbs:?} {subresources:?}",
                        ar.api_version, ar.plural, ar.kind, caps.scope
                    ));
                }
            }
        }
        out.sort();
        out
    }

    let setup = Setup::start().await;
    let legacy = Discovery::new(setup.client.clone()).run().await.unwrap();
    let before = setup.sent.lock().unwrap().len();
    let aggregated = Discovery::new(setup.client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let sent: Vec<String> = setup.sent.lock().unwrap()[before..]
        .iter()
        .map(|s| s.uri.clone())
        .collect();
    assert_eq!(sent, ["/apis", "/api"]);
    let found = summary(&aggregated);
    assert_eq!(found, summary(&legacy));
    assert!(
        found
            .iter()
            .any(|r| r.starts_with("v1 pods Pod Namespaced")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|r| r.starts_with("capstan.dev/v1 pods Pod"))
    );
}
