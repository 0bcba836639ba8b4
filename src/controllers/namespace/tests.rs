use serde_json::json;

use super::*;
use crate::api::options::DeleteOpts;
use crate::controllers::testing::{Cluster, meta};
use crate::registry::DeleteResult;

fn condition<'a>(ns: &'a Value, type_: &str) -> &'a Value {
    ns["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} in {ns}"))
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
}

#[tokio::test]
async fn deleting_a_namespace_only_marks_it_terminating() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    let DeleteResult::Pending(marked) = c.delete("namespaces", None, "team").await.unwrap() else {
        panic!("the first delete must leave the namespace in place");
    };
    assert_eq!(marked["status"]["phase"], "Terminating");
    assert!(meta(&marked, "deletionTimestamp").is_string());
    assert_eq!(marked["spec"]["finalizers"], json!(["kubernetes"]));
    // A second delete answers with the namespace, unchanged.
    let DeleteResult::Pending(again) = c.delete("namespaces", None, "team").await.unwrap() else {
        panic!("spec finalizers still hold the namespace");
    };
    assert_eq!(
        meta(&again, "resourceVersion"),
        meta(&marked, "resourceVersion")
    );
    // New content is refused.
    let err = c
        .rest("configmaps")
        .create(
            &c.ctx(Some("team")),
            None,
            configmap("late"),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 403, "{err}");
}

#[tokio::test]
async fn pods_go_first_then_the_rest_then_the_namespace() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    c.create("configmaps", Some("team"), configmap("settings"))
        .await;
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}
    });
    c.create("coordination.k8s.io/leases", Some("team"), lease)
        .await;
    c.pod("", "team", "waiting", None).await;
    c.pod("", "team", "running", Some("node-1")).await;
    c.pod("capstan.dev", "team", "own", Some("node-1")).await;
    c.delete("namespaces", None, "team").await.unwrap();
    let finalizer = c.namespace_finalizer();

    // Scheduled pods start a 30 s graceful deletion; nothing else is touched meanwhile.
    assert_eq!(finalizer.sync("team").await.unwrap(), Outcome::Waiting);
    assert!(c.get("pods", Some("team"), "waiting").await.is_err());
    let running = c.get("pods", Some("team"), "running").await.unwrap();
    assert_eq!(meta(&running, "deletionGracePeriodSeconds"), 30);
    c.get("configmaps", Some("team"), "settings").await.unwrap();
    c.get("coordination.k8s.io/leases", Some("team"), "leader")
        .await
        .unwrap();
    let ns = c.get("namespaces", None, "team").await.unwrap();
    let remaining = condition(&ns, "NamespaceContentRemaining");
    assert_eq!(remaining["status"], "True");
    assert_eq!(
        remaining["message"],
        "Some resources are remaining: pods. has 1 resource instances, pods.capstan.dev has 1 resource instances"
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionContentFailure")["status"],
        "False"
    );

    // What a kubelet (or the pod finisher) does once the containers stopped.
    let now = DeleteOpts {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    for path in ["pods", "capstan.dev/pods"] {
        let name = if path == "pods" { "running" } else { "own" };
        c.rest(path)
            .delete(&c.ctx(Some("team")), name, &now)
            .await
            .unwrap();
    }
    assert_eq!(finalizer.sync("team").await.unwrap(), Outcome::Done);
    assert!(c.get("configmaps", Some("team"), "settings").await.is_err());
    let lease = c.get("coordination.k8s.io/leases", Some("team"), "leader");
    assert_eq!(lease.await.unwrap_err().code(), 404);
    let err = c.get("namespaces", None, "team").await.unwrap_err();
    assert_eq!(err.code(), 404);
    // Nothing left to do for a namespace that is gone.
    assert_eq!(finalizer.sync("team").await.unwrap(), Outcome::Done);
}

#[tokio::test]
async fn finalizers_on_the_content_hold_the_namespace() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    let mut held = configmap("held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    c.create("configmaps", Some("team"), held).await;
    c.delete("namespaces", None, "team").await.unwrap();
    let finalizer = c.namespace_finalizer();
    assert_eq!(finalizer.sync("team").await.unwrap(), Outcome::Waiting);
    let ns = c.get("namespaces", None, "team").await.unwrap();
    assert_eq!(
        condition(&ns, "NamespaceFinalizersRemaining")["message"],
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    let cm = c.get("configmaps", Some("team"), "held").await.unwrap();
    assert!(meta(&cm, "deletionTimestamp").is_string());

    // The finalizer's owner lets go: the configmap goes, then the namespace.
    let mut released = cm.clone();
    released["metadata"]["finalizers"] = json!([]);
    c.rest("configmaps")
        .update(
            &c.ctx(Some("team")),
            "held",
            Box::new(move |_| Ok(released.clone())),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(finalizer.sync("team").await.unwrap(), Outcome::Done);
    assert!(c.get("namespaces", None, "team").await.is_err());
}

#[tokio::test]
async fn other_spec_finalizers_keep_the_namespace_until_finalized() {
    let c = Cluster::new().await;
    c.create(
        "namespaces",
        None,
        json!({"metadata": {"name": "team"}, "spec": {"finalizers": ["example.com/last"]}}),
    )
    .await;
    c.delete("namespaces", None, "team").await.unwrap();
    assert_eq!(
        c.namespace_finalizer().sync("team").await.unwrap(),
        Outcome::Done
    );
    let ns = c.get("namespaces", None, "team").await.unwrap();
    assert_eq!(ns["spec"]["finalizers"], json!(["example.com/last"]));
    assert_eq!(ns["status"]["phase"], "Terminating");

    // Whoever owns the last one removes it through /finalize, and the namespace goes.
    let mut done = ns.clone();
    done["spec"]["finalizers"] = json!([]);
    c.rest("namespaces/finalize")
        .update(
            &c.ctx(None),
            "team",
            Box::new(move |_| Ok(done.clone())),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(c.get("namespaces", None, "team").await.is_err());
}

#[tokio::test]
async fn an_active_namespace_is_left_alone() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    c.create("configmaps", Some("team"), configmap("keep"))
        .await;
    assert_eq!(
        c.namespace_finalizer().sync("team").await.unwrap(),
        Outcome::Done
    );
    c.get("configmaps", Some("team"), "keep").await.unwrap();
    let ns = c.get("namespaces", None, "team").await.unwrap();
    assert_eq!(ns["status"]["phase"], "Active");
}

/// Started after the namespace went Terminating (a restart mid-deletion), the controllers
/// finish it from their first listing.
#[tokio::test]
async fn the_running_controllers_finish_namespaces_left_terminating() {
    let c = Cluster::new().await;
    c.namespace("left").await;
    c.pod("", "left", "scheduled", Some("node-1")).await;
    c.create("configmaps", Some("left"), configmap("settings"))
        .await;
    c.delete("namespaces", None, "left").await.unwrap();

    let finalizer = tokio::spawn(c.namespace_finalizer().run());
    let finisher = tokio::spawn(c.pod_finisher().run());
    c.wait_gone("namespaces", None, "left").await;

    // And namespaces deleted while they run.
    c.namespace("later").await;
    c.pod("capstan.dev", "later", "scheduled", Some("node-1"))
        .await;
    c.delete("namespaces", None, "later").await.unwrap();
    c.wait_gone("namespaces", None, "later").await;
    finalizer.abort();
    finisher.abort();
}
