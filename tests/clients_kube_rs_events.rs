//! kube-rs's event recorder (`kube::runtime::events::Recorder`, which posts events.k8s.io/v1
//! Events) against a real Capstan: the first publish creates the event, the second patches its
//! series, and kubectl reads the result through core/v1 (`kubectl get events`, `kubectl events
//! --for`) and through the new group (`kubectl get events.events.k8s.io`). Discovery of the group
//! is checked too.

mod support;

use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use k8s_openapi::api::events::v1::Event;
use kube::api::PostParams;
use kube::runtime::events::{Event as Publish, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource};
use serde_json::{Value, json};
use support::capstan::Capstan;

async fn client(capstan: &Capstan) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(&capstan.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn pulled() -> Publish {
    Publish {
        type_: EventType::Normal,
        reason: "Pulled".into(),
        note: Some("pulled the image of web".into()),
        action: "Pull".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn the_recorder_publishes_and_aggregates_events() {
    let capstan = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let client = client(&capstan).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }))
    .unwrap();
    let pod = pods.create(&PostParams::default(), &pod).await.unwrap();

    let reporter = Reporter {
        controller: "capstan-test".into(),
        instance: Some("test-1".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let reference = pod.object_ref(&());
    recorder.publish(&pulled(), &reference).await.unwrap();

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let first = &list.items[0];
    assert_eq!(first.note.as_deref(), Some("pulled the image of web"));
    assert_eq!(first.reporting_controller.as_deref(), Some("capstan-test"));
    assert!(first.series.is_none());

    // the same event again: the recorder patches the series of the one it created
    recorder.publish(&pulled(), &reference).await.unwrap();
    let list = events.list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let series = list.items[0].series.as_ref().expect("a series");
    assert_eq!(series.count, 2);

    // the same object through core/v1
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let name = list.items[0].metadata.name.clone().unwrap();
    let old = core.get(&name).await.unwrap();
    assert_eq!(old.involved_object.name.as_deref(), Some("web"));
    assert_eq!(old.message.as_deref(), Some("pulled the image of web"));
    assert_eq!(old.reporting_component.as_deref(), Some("capstan-test"));

    let c = capstan;
    let got = tokio::task::spawn_blocking(move || {
        let got = c.kubectl_ok(&["get", "events"]);
        let for_pod = c.kubectl_ok(&["events", "--for", "pod/web"]);
        let new_group = c.kubectl_ok(&["get", "events.events.k8s.io", "-o", "wide"]);
        (c, got, for_pod, new_group)
    })
    .await
    .unwrap();
    let (_c, got, for_pod, new_group) = got;
    assert!(got.starts_with("LAST SEEN"), "{got}");
    assert!(
        got.contains("Pulled") && got.contains("pod/web") && got.contains("pulled the image"),
        "{got}"
    );
    assert!(
        for_pod.contains("Pulled") && for_pod.contains("Pod/web"),
        "{for_pod}"
    );
    assert!(for_pod.contains("(x2 over"), "the series shows: {for_pod}");
    let row = new_group.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains("pod/web") && row.contains("capstan-test, test-1"),
        "{new_group}"
    );
}

#[tokio::test]
async fn the_group_is_discovered() {
    let capstan = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let client = client(&capstan).await;
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            let req = http::Request::get(path).body(Vec::new()).unwrap();
            client.request::<Value>(req).await.unwrap()
        }
    };
    let groups = get("/apis").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"events.k8s.io"), "{names:?}");
    let resources = get("/apis/events.k8s.io/v1").await;
    let core = get("/api/v1").await;
    let find = |list: &Value| {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "events")
            .cloned()
            .unwrap()
    };
    let events = find(&resources);
    assert_eq!(events["kind"], "Event");
    assert_eq!(events["namespaced"], true);
    assert_eq!(events["shortNames"], json!(["ev"]));
    assert_eq!(
        events["verbs"],
        json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    );
    // one storage: kube's hash of core/v1 Event for both
    assert_eq!(events["storageVersionHash"], "r2yiGXH7wu8=");
    assert_eq!(find(&core)["storageVersionHash"], "r2yiGXH7wu8=");

    // OpenAPI v3 documents the group with the new shape's schema
    let doc = get("/openapi/v3/apis/events.k8s.io/v1").await;
    let path = &doc["paths"]["/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}"];
    assert!(path["patch"].is_object(), "{path}");
    let schema = &doc["components"]["schemas"]["io.k8s.api.events.v1.Event"];
    assert!(schema["properties"]["regarding"].is_object(), "{schema}");

    let c = capstan;
    let (rows, explained) = tokio::task::spawn_blocking(move || {
        let rows = c.kubectl_ok(&["api-resources"]);
        let explained = c.kubectl_ok(&["explain", "events.note", "--api-version=events.k8s.io/v1"]);
        (rows, explained)
    })
    .await
    .unwrap();
    assert!(
        explained.contains("GROUP:      events.k8s.io"),
        "{explained}"
    );
    assert!(
        rows.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols == ["events", "ev", "events.k8s.io/v1", "true", "Event"]
        }),
        "{rows}"
    );
}
