//! Events and collection deletes against a real Capstan: `kubectl get events` and `kubectl events`
//! (with `--for`), events expiring after `--event-ttl` (embedded and etcd), `kubectl delete` with a
//! selector and `--all`, and `deletecollection` on the wire (selectors, dryRun, grace period,
//! propagation policy, preconditions, discovery).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::capstan::{Capstan, Start};
#[cfg(feature = "etcd")]
use support::etcd::Etcd;

fn create_from(c: &Capstan, manifest: &str) {
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], manifest);
}

fn namespace(c: &Capstan, name: &str) {
    create_from(
        c,
        &format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#),
    );
}

fn event(ns: &str, name: &str, pod: &str, reason: &str, kind: &str) -> String {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": pod},
        "reason": reason, "type": kind, "message": format!("{reason} for {pod}"),
        "source": {"component": "kubelet"}, "count": 1,
    })
    .to_string()
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect()
}

/// Events through kubectl, then gone a TTL (3 s) after their last write.
fn events_expire(c: &Capstan) {
    namespace(c, "evs");
    create_from(c, &event("evs", "web.1", "web", "Pulled", "Normal"));
    create_from(c, &event("evs", "web.2", "web", "BackOff", "Warning"));
    create_from(c, &event("evs", "db.1", "db", "Pulled", "Normal"));
    let written = Instant::now();

    let got = c.kubectl_ok(&["get", "events", "-n", "evs"]);
    assert!(got.starts_with("LAST SEEN"), "{got}");
    assert_eq!(got.lines().count(), 4, "{got}");
    let listed = c.kubectl_ok(&["events", "-n", "evs"]);
    assert!(
        listed.contains("BackOff") && listed.contains("Pod/db"),
        "{listed}"
    );
    let web = c.kubectl_ok(&["events", "-n", "evs", "--for", "pod/web"]);
    assert!(web.contains("Pod/web") && !web.contains("Pod/db"), "{web}");
    let warnings = c.kubectl_ok(&["get", "ev", "-n", "evs", "--field-selector", "type=Warning"]);
    assert_eq!(warnings.lines().count(), 2, "{warnings}");
    assert!(warnings.contains("BackOff"), "{warnings}");
    let bad = c.kubectl(&["get", "ev", "-n", "evs", "--field-selector", "spec.x=y"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("field label not supported: spec.x"),
        "{bad:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = c.kubectl_ok(&["get", "events", "-n", "evs", "-o", "name"]);
        if left.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "events never expired: {left}");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        written.elapsed() >= Duration::from_millis(2900),
        "events went after {:?}, before their TTL",
        written.elapsed()
    );
}

fn with_event_ttl(etcd: Option<String>) -> Capstan {
    Capstan::start_with(Start {
        etcd,
        args: vec!["--event-ttl=3s".into()],
    })
}

#[test]
fn events_expire_on_embedded_store() {
    events_expire(&with_event_ttl(None));
}

#[cfg(feature = "etcd")]
#[test]
fn events_expire_on_etcd() {
    let etcd = Etcd::start();
    events_expire(&with_event_ttl(Some(etcd.endpoint.clone())));
}

/// `kubectl delete` with a label selector and with `--all`.
fn kubectl_deletes_what_it_selects(c: &Capstan) {
    namespace(c, "sel");
    for (name, app) in [("x1", "x"), ("x2", "x"), ("y1", "y")] {
        c.kubectl_ok(&[
            "run",
            name,
            "--image=nginx",
            "-n",
            "sel",
            &format!("--labels=app={app}"),
        ]);
        create_from(
            c,
            &format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"sel","labels":{{"app":"{app}"}}}}}}"#
            ),
        );
    }
    let out = c.kubectl_ok(&["delete", "pods", "-l", "app=x", "-n", "sel"]);
    assert!(
        out.contains("pod \"x1\" deleted") && out.contains("pod \"x2\" deleted"),
        "{out}"
    );
    let left = c.kubectl_ok(&["get", "pods", "-n", "sel", "-o", "name"]);
    assert_eq!(left.trim(), "pod/y1");
    let out = c.kubectl_ok(&["delete", "configmaps", "--all", "-n", "sel"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    let left = c.kubectl_ok(&["get", "configmaps", "-n", "sel", "-o", "name"]);
    assert!(left.trim().is_empty(), "{left}");
}

/// deletecollection on the wire, as client-go's `DeleteCollection` and the namespace controller
/// send it.
async fn deletecollection(c: &Capstan) {
    let cms = "/api/v1/namespaces/coll/configmaps";
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y")] {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name, "labels": {"app": app}}});
        let (code, _) = c
            .raw(
                "POST",
                cms,
                Some("application/json"),
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        assert_eq!(code, 201);
    }
    let list = |query: &'static str| async move {
        let (code, body) = c
            .raw("GET", &format!("{cms}{query}"), None, Vec::new())
            .await;
        assert_eq!(code, 200, "{body}");
        names(&body)
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let delete = |query: &'static str, body: Option<Value>| async move {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        c.raw(
            "DELETE",
            &format!("{cms}{query}"),
            Some("application/json"),
            bytes,
        )
        .await
    };

    // dryRun lists what would go and deletes nothing.
    let (code, body) = delete("?labelSelector=app%3Dx&dryRun=All", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["kind"], "ConfigMapList");
    assert_eq!(names(&body), ["a", "b"]);
    assert_eq!(list("").await, ["a", "b", "c", "d"]);

    // A label selector, with a propagation policy kube accepts.
    let (code, body) = delete("?labelSelector=app%3Dx&propagationPolicy=Foreground", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(names(&body), ["a", "b"]);
    assert!(body["metadata"]["resourceVersion"].is_string(), "{body}");
    assert_eq!(list("").await, ["c", "d"]);

    // A field selector.
    let (code, body) = delete("?fieldSelector=metadata.name%3Dc", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(names(&body), ["c"]);

    // Bad options are refused before anything is listed, even on an empty selection.
    let (code, body) = delete(
        "?labelSelector=app%3Dnone&propagationPolicy=Sometimes",
        None,
    )
    .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["kind"], "DeleteOptions");
    let orphan_and_policy = json!({"kind": "DeleteOptions", "apiVersion": "v1",
                                   "orphanDependents": true, "propagationPolicy": "Orphan"});
    let (code, _) = delete("", Some(orphan_and_policy)).await;
    assert_eq!(code, 422);

    // Preconditions apply to every item: a uid that is not d's refuses with kube's 409.
    let (_, d) = c.raw("GET", &format!("{cms}/d"), None, Vec::new()).await;
    let pre = json!({"kind": "DeleteOptions", "apiVersion": "v1",
                     "preconditions": {"uid": "not-the-uid"}});
    let (code, body) = delete("", Some(pre)).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(
        body["message"],
        format!(
            "Operation cannot be fulfilled on ConfigMap \"d\": the UID in the precondition (not-the-uid) does not match the UID in record ({}). The object might have been deleted and then recreated",
            d["metadata"]["uid"].as_str().unwrap()
        )
    );
    assert_eq!(list("").await, ["d"]);
    let pre = json!({"kind": "DeleteOptions", "apiVersion": "v1",
                     "preconditions": {"uid": d["metadata"]["uid"],
                                       "resourceVersion": d["metadata"]["resourceVersion"]}});
    let (code, body) = delete("", Some(pre)).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(names(&body), ["d"]);
    assert!(list("").await.is_empty());

    // A grace period reaches each pod: a scheduled pod is marked, not removed.
    let pods = "/api/v1/namespaces/coll/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"nodeName": "node-1", "containers": [{"name": "m", "image": "busybox"}]}});
    let (code, _) = c
        .raw(
            "POST",
            pods,
            Some("application/json"),
            serde_json::to_vec(&pod).unwrap(),
        )
        .await;
    assert_eq!(code, 201);
    let (code, body) = c
        .raw(
            "DELETE",
            &format!("{pods}?gracePeriodSeconds=45"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["kind"], "PodList");
    let (_, p) = c.raw("GET", &format!("{pods}/p"), None, Vec::new()).await;
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 45, "{p}");

    // Namespaces have no deletecollection; discovery says which resources do.
    let (code, body) = c
        .raw("DELETE", "/api/v1/namespaces", None, Vec::new())
        .await;
    assert_eq!(code, 405, "{body}");
    let (_, discovery) = c.raw("GET", "/api/v1", None, Vec::new()).await;
    for resource in discovery["resources"].as_array().unwrap() {
        let name = resource["name"].as_str().unwrap();
        let verbs: Vec<&str> = resource["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected = matches!(name, "pods" | "configmaps" | "secrets" | "events");
        assert_eq!(
            verbs.contains(&"deletecollection"),
            expected,
            "{name}: {verbs:?}"
        );
    }
    let events = discovery["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "events")
        .expect("events in discovery");
    assert_eq!(events["shortNames"], json!(["ev"]));
    assert_eq!(events["kind"], "Event");
}

#[tokio::test]
async fn deletes_of_collections() {
    let c = tokio::task::spawn_blocking(|| {
        // Without the pod finisher a graceful deletion stays visible, as with a real kubelet
        // that has not stopped the containers yet.
        let c = Capstan::start_with(Start {
            args: vec!["--enable-pod-finisher=false".into()],
            ..Default::default()
        });
        kubectl_deletes_what_it_selects(&c);
        namespace(&c, "coll");
        c
    })
    .await
    .unwrap();
    deletecollection(&c).await;
}
