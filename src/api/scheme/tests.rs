//! The generic Scheme: registration, conversion through the storage version, defaulting, field
//! labels and version priority, on a made-up kind with three versions.

use serde_json::{Value, json};

use super::*;

fn gvk(version: &str) -> GroupVersionKind {
    GroupVersionKind::new("example.dev", version, "Widget")
}

/// v2 is stored; v1 calls `replicas` `size`; v3 nests it under `scale.count`.
fn scheme() -> Scheme {
    let mut scheme = Scheme::new();
    scheme
        .add_storage_kind(gvk("v2"))
        .add_kind(
            gvk("v1"),
            Conversion {
                to_storage: |obj| {
                    if let Some(size) = obj.remove("size") {
                        obj.insert("replicas".into(), size);
                    }
                    Ok(())
                },
                from_storage: |obj| {
                    if let Some(replicas) = obj.remove("replicas") {
                        obj.insert("size".into(), replicas);
                    }
                    Ok(())
                },
            },
        )
        .add_kind(
            gvk("v3"),
            Conversion {
                to_storage: |obj| {
                    let count = obj
                        .remove("scale")
                        .and_then(|mut s| s.get_mut("count").map(Value::take));
                    if let Some(count) = count {
                        obj.insert("replicas".into(), count);
                    }
                    Ok(())
                },
                from_storage: |obj| {
                    if let Some(replicas) = obj.remove("replicas") {
                        obj.insert("scale".into(), json!({"count": replicas}));
                    }
                    Ok(())
                },
            },
        )
        .add_defaulter(&gvk("v1"), |obj| {
            obj.entry("size").or_insert(json!(1));
        })
        .add_field_label_conversion(&gvk("v1"), |label, value| match label {
            "size" => Ok(("replicas".into(), value.into())),
            "replicas" => Err(format!("field label not supported: {label}")),
            _ => Ok((label.into(), value.into())),
        });
    scheme
}

#[test]
fn converts_between_any_two_versions_through_storage() {
    let scheme = scheme();
    let v1 = json!({"apiVersion": "example.dev/v1", "kind": "Widget", "size": 3});
    let v3 = scheme.convert(v1.clone(), "v3").unwrap();
    assert_eq!(
        v3,
        json!({"apiVersion": "example.dev/v3", "kind": "Widget", "scale": {"count": 3}})
    );
    assert_eq!(scheme.convert(v3, "v1").unwrap(), v1);
    let v2 = scheme.convert(v1.clone(), "v2").unwrap();
    assert_eq!(
        v2,
        json!({"apiVersion": "example.dev/v2", "kind": "Widget", "replicas": 3})
    );
    assert_eq!(scheme.convert(v2.clone(), "v2").unwrap(), v2);
}

#[test]
fn unregistered_versions_and_kinds_are_refused() {
    let scheme = scheme();
    let v1 = json!({"apiVersion": "example.dev/v1", "kind": "Widget"});
    assert_eq!(
        scheme.convert(v1, "v9").unwrap_err(),
        ConversionError::NotRegistered {
            api_version: "example.dev/v9".into(),
            kind: "Widget".into()
        }
    );
    let gadget = json!({"apiVersion": "example.dev/v1", "kind": "Gadget"});
    assert_eq!(
        scheme.convert(gadget, "v2").unwrap_err().to_string(),
        "no kind \"Gadget\" is registered for version \"example.dev/v1\""
    );
    for bad in [
        json!([1]),
        json!({"kind": "Widget"}),
        json!({"apiVersion": "v1"}),
    ] {
        assert!(matches!(
            scheme.convert(bad, "v2"),
            Err(ConversionError::NotAnObject(_))
        ));
    }
}

#[test]
fn a_kind_registered_without_its_storage_version_cannot_convert() {
    let mut scheme = Scheme::new();
    scheme.add_kind(gvk("v1"), Conversion::IDENTICAL);
    scheme.add_kind(gvk("v3"), Conversion::IDENTICAL);
    let v1 = json!({"apiVersion": "example.dev/v1", "kind": "Widget"});
    assert!(matches!(
        scheme.convert(v1, "v3"),
        Err(ConversionError::NotRegistered { .. })
    ));
}

#[test]
fn status_objects_pass_unchanged() {
    let status = json!({"apiVersion": "v1", "kind": "Status", "status": "Success"});
    assert_eq!(scheme().convert(status.clone(), "v1").unwrap(), status);
}

#[test]
fn conversion_errors_surface() {
    let mut scheme = scheme();
    scheme.add_kind(
        gvk("v0"),
        Conversion {
            to_storage: |_| Err(ConversionError::Invalid("v0 is retired".into())),
            from_storage: |_| Ok(()),
        },
    );
    let v0 = json!({"apiVersion": "example.dev/v0", "kind": "Widget"});
    assert_eq!(
        scheme.convert(v0, "v2").unwrap_err(),
        ConversionError::Invalid("v0 is retired".into())
    );
}

#[test]
fn defaults_apply_to_their_own_version_only() {
    let scheme = scheme();
    let mut v1 = json!({"apiVersion": "example.dev/v1", "kind": "Widget"});
    scheme.apply_defaults(&mut v1).unwrap();
    assert_eq!(v1["size"], 1);
    let mut v3 = json!({"apiVersion": "example.dev/v3", "kind": "Widget"});
    scheme.apply_defaults(&mut v3).unwrap();
    assert!(v3.get("size").is_none());
}

#[test]
fn field_labels_map_to_storage_names() {
    let scheme = scheme();
    assert_eq!(
        scheme.convert_field_label(&gvk("v1"), "size", "3").unwrap(),
        ("replicas".to_string(), "3".to_string())
    );
    assert_eq!(
        scheme
            .convert_field_label(&gvk("v1"), "replicas", "3")
            .unwrap_err()
            .to_string(),
        "field label not supported: replicas"
    );
    // no conversion registered: unchanged
    assert_eq!(
        scheme
            .convert_field_label(&gvk("v3"), "replicas", "3")
            .unwrap()
            .0,
        "replicas"
    );
    assert!(scheme.convert_field_label(&gvk("v9"), "a", "b").is_err());
}

#[test]
fn version_priority() {
    let mut scheme = scheme();
    // storage first, then the others by name
    assert_eq!(
        scheme.prioritized_versions("example.dev"),
        ["v2", "v1", "v3"]
    );
    scheme.set_version_priority("example.dev", &["v3", "v2", "v1"]);
    assert_eq!(
        scheme.prioritized_versions("example.dev"),
        ["v3", "v2", "v1"]
    );
    assert!(scheme.prioritized_versions("other.dev").is_empty());
    assert_eq!(
        scheme
            .storage_version("example.dev", "Widget")
            .map(String::as_str),
        Some("v2")
    );
    assert!(scheme.is_registered(&gvk("v3")));
    assert!(!scheme.is_registered(&gvk("v4")));
}

#[test]
fn group_version_kinds() {
    let core = GroupVersionKind::from_api_version("v1", "Pod");
    assert_eq!((core.group.as_str(), core.version.as_str()), ("", "v1"));
    assert_eq!(core.api_version(), "v1");
    let beta = GroupVersionKind::from_api_version("capstan.dev/v1beta1", "Pod");
    assert_eq!(beta, GroupVersionKind::new("capstan.dev", "v1beta1", "Pod"));
    assert_eq!(beta.to_string(), "capstan.dev/v1beta1, Kind=Pod");
}
