//! The store records a strategy's warnings on the request context: pods warn on create (dry run
//! included) and not on update; `pods/status` warns about IP forms on update.

use capstan::api::options::WriteOptions;
use capstan::registry::RequestContext;
use serde_json::{Value, json};

use super::{ctx, open};

const DUPLICATE_PORT: &str =
    "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]";

fn with_ports(api_version: &str, name: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
            "ports": [{"containerPort": 80}, {"containerPort": 80}]}]}
    })
}

async fn warnings_of_create(group: &str, dry_run: bool) -> Vec<String> {
    let pods = open(group).await;
    let ctx: RequestContext = ctx();
    let opts = WriteOptions {
        dry_run,
        ..Default::default()
    };
    pods.rest("pods")
        .create(&ctx, None, with_ports(pods.api_version, "p"), &opts)
        .await
        .unwrap();
    ctx.warnings.texts()
}

#[tokio::test]
async fn creates_warn_in_both_groups_dry_run_or_not() {
    for group in ["", "capstan.dev"] {
        assert_eq!(warnings_of_create(group, false).await, [DUPLICATE_PORT]);
        assert_eq!(warnings_of_create(group, true).await, [DUPLICATE_PORT]);
    }
}

#[tokio::test]
async fn a_pod_without_issues_records_nothing() {
    let pods = open("").await;
    let ctx = ctx();
    pods.rest("pods")
        .create(&ctx, None, pods.pod("quiet"), &WriteOptions::default())
        .await
        .unwrap();
    assert!(ctx.warnings.texts().is_empty());
}

#[tokio::test]
async fn pod_updates_do_not_warn_but_status_updates_do() {
    let pods = open("").await;
    pods.create(with_ports(pods.api_version, "p"))
        .await
        .unwrap();

    let ctx = ctx();
    let mut relabelled = with_ports(pods.api_version, "p");
    relabelled["metadata"]["labels"] = json!({"tier": "web"});
    let update = Box::new(move |_: Option<&Value>| Ok(relabelled.clone()));
    pods.rest("pods")
        .update(&ctx, "p", update, &WriteOptions::default())
        .await
        .unwrap();
    assert!(
        ctx.warnings.texts().is_empty(),
        "{:?}",
        ctx.warnings.texts()
    );

    let ctx = super::ctx();
    let mut current = pods.get("p").await;
    current["status"]["podIP"] = json!("::ffff:10.0.0.7");
    current["status"]["podIPs"] = json!([{"ip": "::ffff:10.0.0.7"}]);
    let update = Box::new(move |_: Option<&Value>| Ok(current.clone()));
    pods.rest("pods/status")
        .update(&ctx, "p", update, &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ctx.warnings.texts(),
        [
            r#"status.podIPs[0].ip: non-standard IP address "::ffff:10.0.0.7" is invalid: use "10.0.0.7""#
        ]
    );
}
