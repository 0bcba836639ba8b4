//! `pods/binding`: the scheduler's one write of `spec.nodeName`, as kube's BindingREST allows it.

use super::*;

#[tokio::test]
async fn binding_sets_the_node_once() {
    for group in ["", "capstan.dev"] {
        let pods = open(group).await;
        pods.create(pods.pod("web")).await.unwrap();
        let mut binding = pods.binding("web", "node-1");
        binding["metadata"]["annotations"] = json!({"scheduler.example.com/score": "7"});
        let out = pods.bind("web", binding).await.unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success", "code": 201})
        );

        let pod = pods.get("web").await;
        assert_eq!(pod["spec"]["nodeName"], "node-1");
        assert_eq!(
            pod["metadata"]["annotations"]["scheduler.example.com/score"],
            "7"
        );
        let scheduled = &pod["status"]["conditions"][0];
        assert_eq!(
            (scheduled["type"].as_str(), scheduled["status"].as_str()),
            (Some("PodScheduled"), Some("True"))
        );
        assert!(scheduled["lastTransitionTime"].is_string());

        let err = pods
            .bind("web", pods.binding("web", "node-2"))
            .await
            .unwrap_err();
        let resource = if group.is_empty() {
            "pods/binding".to_string()
        } else {
            "pods/binding.capstan.dev".to_string()
        };
        assert_eq!(
            err.to_string(),
            format!(
                "Operation cannot be fulfilled on {resource} \"web\": pod web is already assigned to node \"node-1\""
            )
        );
        assert!(matches!(err, ApiError::Conflict { .. }));

        let err = pods
            .bind("web", pods.binding("other", "node-2"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ApiError::BadRequest("name in URL does not match name in Binding object".into())
        );
        let mut elsewhere = pods.binding("web", "node-2");
        elsewhere["metadata"]["namespace"] = json!("other");
        let err = pods.bind("web", elsewhere).await.unwrap_err();
        assert_eq!(
            err,
            ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into()
            )
        );
        let err = pods
            .bind("ghost", pods.binding("ghost", "node-2"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
        let err = pods.bind("web", pods.binding("web", "")).await.unwrap_err();
        assert_eq!(invalid_causes(&err), ["target.name: Required value"]);
        assert_eq!(pods.rest("pods/binding").verbs(), [Verb::Create].into());
    }
}

#[tokio::test]
async fn binding_refuses_a_pod_being_deleted_and_checks_preconditions() {
    let pods = open("").await;
    let created = pods.create(pods.pod("web")).await.unwrap();
    let mut wrong_uid = pods.binding("web", "n1");
    wrong_uid["metadata"]["uid"] = json!("not-the-uid");
    let err = pods.bind("web", wrong_uid).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Precondition failed: UID in precondition: not-the-uid"),
        "{err}"
    );

    let mut right_uid = pods.binding("web", "n1");
    right_uid["metadata"]["uid"] = created["metadata"]["uid"].clone();
    pods.bind("web", right_uid).await.unwrap();

    // A scheduled pod is deleted gracefully: it stays, marked.
    let result = pods
        .rest("pods")
        .delete(&ctx(), "web", &DeleteOpts::default())
        .await
        .unwrap();
    let DeleteResult::Pending(pending) = result else {
        panic!("{result:?}")
    };
    assert_eq!(pending["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(pending["metadata"]["deletionTimestamp"].is_string());

    // An unscheduled pod held by a finalizer is marked for deletion; binding it is refused.
    let mut held = pods.pod("held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    pods.create(held).await.unwrap();
    let result = pods
        .rest("pods")
        .delete(&ctx(), "held", &DeleteOpts::default())
        .await
        .unwrap();
    assert!(matches!(result, DeleteResult::Pending(_)), "{result:?}");
    let err = pods
        .bind("held", pods.binding("held", "n1"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on pods/binding \"held\": pod held is being deleted, cannot be assigned to a host"
    );
}

#[tokio::test]
async fn dry_run_binding_writes_nothing() {
    let pods = open("").await;
    let created = pods.create(pods.pod("web")).await.unwrap();
    let opts = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    let out = pods
        .rest("pods/binding")
        .create(&ctx(), Some("web"), pods.binding("web", "n1"), &opts)
        .await
        .unwrap();
    assert_eq!(out["status"], "Success");
    assert_eq!(pods.get("web").await, created);
}
