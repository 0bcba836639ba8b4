//! Server-side apply and update bookkeeping: ownership, conflicts, force, pruning, reset fields,
//! the client-side to server-side migration, and managedFields as kube writes them.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::apply::{ApplyError, ManagedFieldsScope, apply, record_update};
use super::test_schema::pod_model;
use crate::api::schema::SchemaModel;

const T1: &str = "2024-05-01T10:00:00Z";
const T2: &str = "2024-05-01T11:00:00Z";

fn scope<'a>(model: &'a SchemaModel, now: &str) -> ManagedFieldsScope<'a> {
    ManagedFieldsScope {
        ty: model.for_kind("", "v1", "Pod").expect("pod"),
        api_version: "v1",
        kind: "Pod",
        subresource: "",
        reset_fields: &[&["status"]],
        now: now.parse::<Timestamp>().expect("time"),
    }
}

fn config(image: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "labels": labels},
        "spec": {"containers": [{"name": "main", "image": image}]}
    })
}

/// The managedFields entry of `manager`.
fn entry<'v>(obj: &'v Value, manager: &str) -> Option<&'v Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap(),
                        e["operation"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A stored object: what the registry adds after create.
fn stored(mut obj: Value) -> Value {
    obj["metadata"]["uid"] = json!("u-1");
    obj["metadata"]["resourceVersion"] = json!("5");
    obj
}

#[test]
fn first_apply_creates_ownership() {
    let model = pod_model();
    let s = scope(&model, T1);
    let out = apply(
        None,
        &config("nginx:1", json!({"app": "web"})),
        "mgr-a",
        false,
        &s,
    )
    .unwrap();
    assert_eq!(out.object["spec"]["containers"][0]["image"], "nginx:1");
    assert_eq!(
        out.object["metadata"]["managedFields"],
        json!([{
            "apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "mgr-a", "operation": "Apply",
            "time": T1,
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {
                    ".": {}, "f:image": {}, "f:name": {}
                }}}
            }
        }])
    );
    assert_eq!(out.managed_fields.len(), 1);
}

#[test]
fn second_manager_changing_a_field_conflicts_and_force_takes_it() {
    let model = pod_model();
    let first = apply(
        None,
        &config("nginx:1", json!({"app": "web"})),
        "mgr-a",
        false,
        &scope(&model, T1),
    )
    .unwrap();
    let live = stored(first.object);
    let s2 = scope(&model, T2);
    let err = apply(
        Some(&live),
        &config("nginx:2", json!({"app": "web"})),
        "mgr-b",
        false,
        &s2,
    )
    .unwrap_err();
    let ApplyError::Conflicts(c) = &err else {
        panic!("expected conflicts, got {err:?}");
    };
    assert_eq!(
        c.message(),
        "Apply failed with 1 conflict: conflict with \"mgr-a\": .spec.containers[name=\"main\"].image"
    );
    assert_eq!(err.code(), 409);
    let cause = &c.causes()[0];
    assert_eq!(cause.reason.as_deref(), Some("FieldManagerConflict"));
    assert_eq!(cause.message.as_deref(), Some("conflict with \"mgr-a\""));
    assert_eq!(
        cause.field.as_deref(),
        Some(".spec.containers[name=\"main\"].image")
    );

    let forced = apply(
        Some(&live),
        &config("nginx:2", json!({"app": "web"})),
        "mgr-b",
        true,
        &s2,
    )
    .unwrap();
    let obj = forced.object;
    assert_eq!(obj["spec"]["containers"][0]["image"], "nginx:2");
    let a = entry(&obj, "mgr-a").unwrap();
    assert!(
        a["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
            .get("f:image")
            .is_none()
    );
    assert_eq!(
        a["time"], T1,
        "losing a field does not touch the loser's time"
    );
    let b = entry(&obj, "mgr-b").unwrap();
    assert!(
        b["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
            .get("f:image")
            .is_some()
    );
    // Both still own the label they both applied with the same value.
    assert!(
        a["fieldsV1"]["f:metadata"]["f:labels"]
            .get("f:app")
            .is_some()
    );
    assert!(
        b["fieldsV1"]["f:metadata"]["f:labels"]
            .get("f:app")
            .is_some()
    );
}

#[test]
fn removing_a_field_from_the_config_removes_it_unless_someone_else_owns_it() {
    let model = pod_model();
    let s = scope(&model, T1);
    let a1 = apply(
        None,
        &config("i", json!({"app": "web", "tier": "fe", "x": "1"})),
        "mgr-a",
        false,
        &s,
    )
    .unwrap();
    // mgr-b applies label x with the same value: shared ownership.
    let b_cfg =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"x": "1"}}});
    let b = apply(Some(&stored(a1.object)), &b_cfg, "mgr-b", false, &s).unwrap();
    let a2 = apply(
        Some(&b.object),
        &config("i", json!({"app": "web"})),
        "mgr-a",
        false,
        &s,
    )
    .unwrap();
    assert_eq!(
        a2.object["metadata"]["labels"],
        json!({"app": "web", "x": "1"})
    );
    // Dropping every label owned by a only removes the labels map when nothing is left.
    let c = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "main", "image": "i"}]}});
    let a3 = apply(Some(&a2.object), &c, "mgr-a", false, &s).unwrap();
    assert_eq!(a3.object["metadata"]["labels"], json!({"x": "1"}));
    let b_cfg = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
    let b2 = apply(Some(&a3.object), &b_cfg, "mgr-b", false, &s).unwrap();
    assert!(
        b2.object["metadata"].get("labels").is_none(),
        "{}",
        b2.object
    );
    assert_eq!(managers(&b2.object), ["mgr-a/Apply"]);
}

#[test]
fn removed_container_is_pruned_with_its_fields() {
    let model = pod_model();
    let s = scope(&model, T1);
    let two = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "main", "image": "a"}, {"name": "side", "image": "b"}]}});
    let first = apply(None, &two, "mgr-a", false, &s).unwrap();
    let one = config("a", json!({"app": "web"}));
    let out = apply(Some(&stored(first.object)), &one, "mgr-a", false, &s).unwrap();
    assert_eq!(
        out.object["spec"]["containers"],
        json!([{"name": "main", "image": "a"}])
    );
}

#[test]
fn update_after_apply_moves_ownership_to_the_updater() {
    let model = pod_model();
    let s1 = scope(&model, T1);
    let applied = apply(
        None,
        &config("nginx:1", json!({"app": "web"})),
        "mgr-a",
        false,
        &s1,
    )
    .unwrap();
    let live = stored(applied.object);
    // `kubectl edit` changes the image.
    let mut edited = live.clone();
    edited["spec"]["containers"][0]["image"] = json!("nginx:edited");
    let s2 = scope(&model, T2);
    let updated = record_update(Some(&live), &edited, "kubectl-edit", &s2);
    assert_eq!(managers(&updated), ["mgr-a/Apply", "kubectl-edit/Update"]);
    let e = entry(&updated, "kubectl-edit").unwrap();
    assert_eq!(e["apiVersion"], "v1");
    assert_eq!(e["time"], T2);
    assert_eq!(
        e["fieldsV1"],
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {"f:image": {}}}}})
    );
    let a = entry(&updated, "mgr-a").unwrap();
    assert!(
        a["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
            .get("f:image")
            .is_none()
    );

    // Re-applying the old image now conflicts with the updater, named with its version.
    let err = apply(
        Some(&updated),
        &config("nginx:1", json!({"app": "web"})),
        "mgr-a",
        false,
        &s2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .spec.containers[name=\"main\"].image"
    );
}

#[test]
fn map_list_keys_use_all_key_fields_and_defaults() {
    let model = pod_model();
    let s = scope(&model, T1);
    let cfg = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "main", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}]}});
    let out = apply(None, &cfg, "m", false, &s).unwrap();
    let ports = &out.object["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
        ["f:ports"];
    assert_eq!(
        ports,
        &json!({
            "k:{\"containerPort\":53,\"protocol\":\"UDP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}},
            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}
        })
    );
    // A defaulted live port and an applied port without protocol are the same item.
    let mut live = stored(out.object);
    live["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    let again = apply(Some(&live), &cfg, "m", false, &s).unwrap();
    assert_eq!(
        again.object["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn reset_fields_are_merged_but_never_owned() {
    let model = pod_model();
    let s = scope(&model, T1);
    let mut cfg = config("i", json!({"app": "web"}));
    cfg["status"] = json!({"phase": "Running"});
    let out = apply(None, &cfg, "m", false, &s).unwrap();
    assert_eq!(
        out.object["status"]["phase"], "Running",
        "the strategy resets it, not apply"
    );
    assert!(
        out.object["metadata"]["managedFields"][0]["fieldsV1"]
            .get("f:status")
            .is_none()
    );
}

#[test]
fn create_records_an_update_entry_like_kubectl_create() {
    let model = pod_model();
    let s = scope(&model, T1);
    let obj = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "labels": {"run": "p"}},
        "spec": {"containers": [{"name": "p", "image": "nginx", "env": [{"name": "A", "value": "1"}]}],
                 "restartPolicy": "Always"}});
    let created = record_update(None, &obj, "kubectl-create", &s);
    assert_eq!(
        created["metadata"]["managedFields"],
        json!([{
            "apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubectl-create",
            "operation": "Update", "time": T1,
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
                "f:spec": {
                    // No "." on containers: the empty Go Pod the create is compared against
                    // holds `containers: null`. `env` is `omitempty`, so it is added; so is the
                    // container's value struct `resources`, which Go always writes.
                    "f:containers": {"k:{\"name\":\"p\"}": {
                        ".": {}, "f:env": {".": {}, "k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}}},
                        "f:image": {}, "f:name": {}, "f:resources": {}
                    }},
                    "f:restartPolicy": {}
                }
            }
        }])
    );
}

#[test]
fn untracked_objects_stay_untracked_and_empty_list_resets() {
    let model = pod_model();
    let s = scope(&model, T1);
    let live = stored(config("i", json!({"app": "web"})));
    let mut new = live.clone();
    new["spec"]["containers"][0]["image"] = json!("j");
    let out = record_update(Some(&live), &new, "kubectl-edit", &s);
    assert!(out["metadata"].get("managedFields").is_none());

    let tracked = record_update(None, &live, "kubectl-create", &s);
    let mut reset = tracked.clone();
    reset["metadata"]["managedFields"] = json!([]);
    let out = record_update(Some(&tracked), &reset, "kubectl-edit", &s);
    assert!(out["metadata"].get("managedFields").is_none(), "{out}");
}

#[test]
fn first_apply_to_an_untracked_object_conflicts_with_before_first_apply() {
    let model = pod_model();
    let s = scope(&model, T1);
    let live = stored(config("i", json!({"app": "web"})));
    let err = apply(
        Some(&live),
        &config("j", json!({"app": "web"})),
        "mgr",
        false,
        &s,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .spec.containers[name=\"main\"].image"
    );
}

#[test]
fn kubectl_server_side_takes_over_from_client_side_apply() {
    let model = pod_model();
    let s = scope(&model, T1);
    // `kubectl apply` (client-side) created the object with its annotation.
    let last = config("nginx:1", json!({"app": "web"}));
    let mut created = last.clone();
    created["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": format!("{last}\n")});
    let live = stored(record_update(
        None,
        &created,
        "kubectl-client-side-apply",
        &s,
    ));

    // Another manager changing the image conflicts with the client-side applier.
    let err = apply(
        Some(&live),
        &config("nginx:2", json!({"app": "web"})),
        "other",
        false,
        &s,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .spec.containers[name=\"main\"].image"
    );

    // `kubectl apply --server-side` may take over what the annotation shows unchanged.
    let next = config("nginx:2", json!({"app": "web"}));
    let out = apply(Some(&live), &next, "kubectl", false, &s).unwrap();
    assert_eq!(out.object["spec"]["containers"][0]["image"], "nginx:2");
    let annotation =
        out.object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert!(annotation.ends_with('\n'));
    let recorded: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(recorded, next);
}

#[test]
fn kubectl_still_conflicts_on_fields_changed_since_last_apply() {
    let model = pod_model();
    let s = scope(&model, T1);
    let last = config("nginx:1", json!({"app": "web"}));
    let mut created = last.clone();
    created["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": last.to_string()});
    let live = stored(record_update(
        None,
        &created,
        "kubectl-client-side-apply",
        &s,
    ));
    let mut edited = live.clone();
    edited["spec"]["containers"][0]["image"] = json!("nginx:hand");
    let live = record_update(Some(&live), &edited, "kubectl-client-side-apply", &s);
    let err = apply(
        Some(&live),
        &config("nginx:2", json!({"app": "web"})),
        "kubectl",
        false,
        &s,
    )
    .unwrap_err();
    assert_eq!(err.code(), 409);
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let model = pod_model();
    let s = scope(&model, T1);
    let a = apply(
        None,
        &config("i", json!({"app": "web", "tier": "fe"})),
        "mgr-a",
        false,
        &s,
    )
    .unwrap();
    let err = apply(
        Some(&stored(a.object)),
        &config("j", json!({"app": "x", "tier": "fe"})),
        "mgr-b",
        false,
        &s,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"mgr-a\":\n- .metadata.labels.app\n- .spec.containers[name=\"main\"].image"
    );
}

#[test]
fn bad_configurations() {
    let model = pod_model();
    let s = scope(&model, T1);
    let mut wrong_kind = config("i", json!({}));
    wrong_kind["kind"] = json!("Service");
    assert_eq!(
        apply(None, &wrong_kind, "m", false, &s).unwrap_err(),
        ApplyError::BadRequest("invalid object type: /v1, Kind=Service".into())
    );
    let mut with_managed = config("i", json!({}));
    with_managed["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        apply(None, &with_managed, "m", false, &s).unwrap_err(),
        ApplyError::BadRequest("metadata.managedFields must be nil".into())
    );
    let mut unknown = config("i", json!({}));
    unknown["spec"]["bogus"] = json!(true);
    let err = apply(None, &unknown, "m", false, &s).unwrap_err();
    assert_eq!(
        err,
        ApplyError::Internal(
            "failed to create typed patch object (default/p; /v1, Kind=Pod): .spec.bogus: field not declared in schema".into()
        )
    );
    assert_eq!(err.code(), 500);
}

#[test]
fn no_op_apply_changes_nothing() {
    let model = pod_model();
    let cfg = config("i", json!({"app": "web"}));
    let first = apply(None, &cfg, "m", false, &scope(&model, T1)).unwrap();
    let live = stored(first.object);
    let again = apply(Some(&live), &cfg, "m", false, &scope(&model, T2)).unwrap();
    assert_eq!(again.object, live);
}

#[test]
fn update_managers_are_capped_at_ten() {
    let model = pod_model();
    let mut obj = record_update(None, &config("i", json!({})), "creator", &scope(&model, T1));
    obj = stored(obj);
    for i in 0..12 {
        let now = format!("2024-05-01T10:{i:02}:01Z");
        let mut next = obj.clone();
        next["metadata"]["labels"] = json!({format!("l{i}"): "v"});
        next["metadata"]["labels"].as_object_mut().unwrap().extend(
            obj["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        obj = record_update(
            Some(&obj),
            &next,
            &format!("writer-{i}"),
            &scope(&model, &now),
        );
    }
    let names = managers(&obj);
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(
        names.contains(&"ancient-changes/Update".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"creator/Update".to_string()));
}

#[test]
fn subresource_writers_are_separate_managers() {
    let model = pod_model();
    let s = scope(&model, T1);
    let live = stored(record_update(None, &config("i", json!({})), "creator", &s));
    let status_scope = ManagedFieldsScope {
        subresource: "status",
        reset_fields: &[&["spec"]],
        ..s
    };
    let mut new = live.clone();
    new["status"] = json!({"phase": "Running"});
    let out = record_update(Some(&live), &new, "kubelet", &status_scope);
    let e = entry(&out, "kubelet").unwrap();
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:phase": {}}}));
}
