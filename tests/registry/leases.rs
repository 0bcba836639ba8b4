//! coordination.k8s.io/v1 Leases through the registry: where they are stored, optimistic
//! concurrency as leader election relies on it, kube's validation causes, and the table row.

use capstan::api::options::WriteOptions;
use capstan::registry::Rest;
use capstan::registry::coordination::lease_storage;
use serde_json::{Value, json};

use crate::fixture::*;

fn leases(db: &Db) -> std::sync::Arc<dyn Rest> {
    lease_storage(db.storage.clone(), PREFIX)
}

fn lease(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name}, "spec": spec
    })
}

#[tokio::test]
async fn leases_live_under_the_group_name_and_keep_their_spec() {
    let db = db().await;
    let leases = leases(&db);
    let spec = json!({
        "holderIdentity": "node-a_1",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-11-27T10:11:12.345678Z",
        "renewTime": "2026-11-27T10:11:14.000005Z",
        "leaseTransitions": 0
    });
    let created = create(
        leases.as_ref(),
        Some("kube-system"),
        lease("ctrl", spec.clone()),
    )
    .await;
    assert_eq!(created["spec"], spec);
    assert_eq!(created["apiVersion"], "coordination.k8s.io/v1");
    let keys: Vec<String> = db.dump().await.into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(
        keys,
        ["/capstan/coordination.k8s.io/leases/kube-system/ctrl"]
    );
    let got = get(leases.as_ref(), Some("kube-system"), "ctrl")
        .await
        .unwrap();
    assert_eq!(got, created);

    // Coordinated leader election is off (as kube's default): its fields are not kept.
    let coordinated = json!({"holderIdentity": "b", "strategy": "OldestEmulationVersion", "preferredHolder": "b"});
    let created = create(
        leases.as_ref(),
        Some("kube-system"),
        lease("cle", coordinated),
    )
    .await;
    assert_eq!(created["spec"], json!({"holderIdentity": "b"}));
}

#[tokio::test]
async fn updates_need_the_current_resource_version() {
    let db = db().await;
    let leases = leases(&db);
    let c = ctx(Some("default"));
    let first = create(
        leases.as_ref(),
        Some("default"),
        lease("l", json!({"holderIdentity": "a"})),
    )
    .await;
    let mut renewed = first.clone();
    renewed["spec"]["renewTime"] = json!("2026-11-27T10:11:14.000005Z");
    let (second, created) = leases
        .update(&c, "l", put(renewed), &WriteOptions::default())
        .await
        .unwrap();
    assert!(!created);
    assert!(rv(&second) > rv(&first));

    // A candidate acting on what it read before the renewal loses.
    let mut stale = first.clone();
    stale["spec"]["holderIdentity"] = json!("b");
    let err = leases
        .update(&c, "l", put(stale), &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        409,
        "Conflict",
        Some(
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"l\": the object has been modified; please apply your changes to the latest version and try again",
        ),
    );

    // kube's AllowUnconditionalUpdate is false for leases (its store names the resource, not the
    // kind, in this one message).
    let mut blind = second.clone();
    blind["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let err = leases
        .update(&c, "l", put(blind), &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "leases.coordination.k8s.io \"l\" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update",
        ),
    );
    assert_eq!(
        get(leases.as_ref(), Some("default"), "l").await.unwrap(),
        second
    );

    // ... and AllowCreateOnUpdate is true: PUT may create.
    let (made, created) = leases
        .update(
            &c,
            "new",
            put(lease("new", json!({}))),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(made["metadata"]["name"], "new");
}

#[tokio::test]
async fn invalid_specs_are_422_with_kube_causes() {
    let db = db().await;
    let leases = leases(&db);
    let bad = lease(
        "bad",
        json!({"leaseDurationSeconds": 0, "leaseTransitions": -1}),
    );
    let err = leases
        .create(&ctx(Some("default")), None, bad, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Lease.coordination.k8s.io \"bad\" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]",
        ),
    );
    let details = err.to_status().details.unwrap();
    assert_eq!(details.group.as_deref(), Some("coordination.k8s.io"));
    assert_eq!(details.kind.as_deref(), Some("Lease"));
    let causes: Vec<(String, String, String)> = details
        .causes
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.reason.unwrap_or_default(),
                c.field.unwrap_or_default(),
                c.message.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        causes,
        [
            (
                "FieldValueInvalid".to_string(),
                "spec.leaseDurationSeconds".to_string(),
                "Invalid value: 0: must be greater than 0".to_string()
            ),
            (
                "FieldValueInvalid".to_string(),
                "spec.leaseTransitions".to_string(),
                "Invalid value: -1: must be greater than or equal to 0".to_string()
            ),
        ]
    );
    assert!(db.dump().await.is_empty());

    // Updates are validated the same way.
    let good = create(
        leases.as_ref(),
        Some("default"),
        lease("good", json!({"leaseDurationSeconds": 5})),
    )
    .await;
    let mut worse = good.clone();
    worse["spec"]["leaseDurationSeconds"] = json!(-3);
    let err = leases
        .update(
            &ctx(Some("default")),
            "good",
            put(worse),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    assert!(
        err.to_string()
            .contains("spec.leaseDurationSeconds: Invalid value: -3: must be greater than 0"),
        "{err}"
    );
}

#[tokio::test]
async fn the_table_shows_name_holder_and_age() {
    let db = db().await;
    let leases = leases(&db);
    let held = create(
        leases.as_ref(),
        Some("default"),
        lease("held", json!({"holderIdentity": "node-a"})),
    )
    .await;
    let free = create(leases.as_ref(), Some("default"), lease("free", json!({}))).await;
    let columns: Vec<String> = leases.table_columns().into_iter().map(|c| c.name).collect();
    assert_eq!(columns, ["Name", "Holder", "Age"]);
    let row = leases.table_row(&held);
    assert_eq!(row[..2], [json!("held"), json!("node-a")]);
    assert!(row[2].as_str().unwrap().ends_with('s'), "{row:?}");
    assert_eq!(leases.table_row(&free)[1], "");
}
