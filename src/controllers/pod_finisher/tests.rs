use std::time::Duration;

use serde_json::json;

use super::*;
use crate::api::options::WriteOptions;
use crate::controllers::testing::{Cluster, meta};
use crate::registry::DeleteResult;

#[test]
fn only_running_graceful_deletions_need_finishing() {
    assert!(!needs_finishing(&json!({"metadata": {"name": "a"}})));
    assert!(needs_finishing(&json!({"metadata": {
        "deletionTimestamp": "2025-01-01T00:00:00Z", "deletionGracePeriodSeconds": 30
    }})));
    assert!(!needs_finishing(&json!({"metadata": {
        "deletionTimestamp": "2025-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0
    }})));
}

#[tokio::test]
async fn scheduled_pods_of_both_groups_are_deleted_once_marked() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    c.pod("", "team", "web", Some("node-1")).await;
    c.pod("capstan.dev", "team", "own", Some("node-1")).await;
    c.pod("", "team", "untouched", Some("node-1")).await;
    let finisher = tokio::spawn(c.pod_finisher().run());

    for path in ["pods", "capstan.dev/pods"] {
        let name = if path == "pods" { "web" } else { "own" };
        let DeleteResult::Pending(marked) = c.delete(path, Some("team"), name).await.unwrap()
        else {
            panic!("a scheduled pod is deleted gracefully");
        };
        assert_eq!(meta(&marked, "deletionGracePeriodSeconds"), 30);
        c.wait_gone(path, Some("team"), name).await;
    }
    let pod = c.get("pods", Some("team"), "untouched").await.unwrap();
    assert!(meta(&pod, "deletionTimestamp").is_null());
    finisher.abort();
}

#[tokio::test]
async fn finalizers_are_left_to_their_owners() {
    let c = Cluster::new().await;
    c.namespace("team").await;
    c.pod("", "team", "held", Some("node-1")).await;
    let pod = c.get("pods", Some("team"), "held").await.unwrap();
    let mut held = pod.clone();
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    c.rest("pods")
        .update(
            &c.ctx(Some("team")),
            "held",
            Box::new(move |_| Ok(held.clone())),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    let finisher = tokio::spawn(c.pod_finisher().run());
    c.delete("pods", Some("team"), "held").await.unwrap();

    // The finisher brings the grace period to 0 and stops there.
    let mut marked = Value::Null;
    for _ in 0..100 {
        marked = c.get("pods", Some("team"), "held").await.unwrap();
        if meta(&marked, "deletionGracePeriodSeconds") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(meta(&marked, "deletionGracePeriodSeconds"), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = c.get("pods", Some("team"), "held").await.unwrap();
    assert_eq!(
        meta(&later, "resourceVersion"),
        meta(&marked, "resourceVersion"),
        "nothing more is written"
    );

    // Once the owner removes its finalizer, the pod is gone.
    let mut released = later.clone();
    released["metadata"]["finalizers"] = json!([]);
    c.rest("pods")
        .update(
            &c.ctx(Some("team")),
            "held",
            Box::new(move |_| Ok(released.clone())),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    c.wait_gone("pods", Some("team"), "held").await;
    finisher.abort();
}
