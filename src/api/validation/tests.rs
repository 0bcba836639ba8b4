use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        ..Default::default()
    }
}

fn texts(errs: &FieldErrors) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

#[test]
fn dns1123_label_messages_match_kube() {
    assert!(is_dns1123_label("a").is_empty());
    assert!(is_dns1123_label("0-a-9").is_empty());
    assert_eq!(
        is_dns1123_label("Bad_Name"),
        vec![
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots"]);
    let long = "a".repeat(64);
    assert_eq!(
        is_dns1123_label(&long),
        vec!["must be no more than 63 characters"]
    );
    assert_eq!(is_dns1123_label("").len(), 1);
    assert_eq!(is_dns1123_label("-a").len(), 1);
    assert_eq!(is_dns1123_label("a-").len(), 1);
}

#[test]
fn dns1123_subdomain_messages_match_kube() {
    assert!(is_dns1123_subdomain("example.com").is_empty());
    assert_eq!(
        is_dns1123_subdomain("Example.com"),
        vec![
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
    assert_eq!(is_dns1123_subdomain("a..b").len(), 1);
    assert_eq!(
        is_dns1123_subdomain(&"a".repeat(254))[0],
        "must be no more than 253 characters"
    );
}

#[test]
fn dns1035_label_requires_leading_letter() {
    assert!(is_dns1035_label("abc-1").is_empty());
    assert_eq!(is_dns1035_label("1abc").len(), 1);
}

#[test]
fn qualified_names_follow_kube() {
    assert!(is_qualified_name("app").is_empty());
    assert!(is_qualified_name("example.com/MyName").is_empty());
    assert_eq!(
        is_qualified_name("/x"),
        vec!["prefix part must be non-empty"]
    );
    assert_eq!(
        is_qualified_name("x/"),
        vec![
            "name part must be non-empty".to_string(),
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string()
        ]
    );
    assert!(is_qualified_name("a/b/c")[0].starts_with("a valid label key must consist of"));
    assert_eq!(
        is_qualified_name(&"a".repeat(64))[0],
        "name part must be no more than 63 bytes"
    );
    assert!(
        is_qualified_name("Bad.Prefix/x")[0]
            .starts_with("prefix part a lowercase RFC 1123 subdomain")
    );
}

#[test]
fn label_values_may_be_empty() {
    assert!(is_label_value("").is_empty());
    assert!(is_label_value("my_value-1.2").is_empty());
    assert_eq!(is_label_value("a b").len(), 1);
    assert_eq!(
        is_label_value(&"a".repeat(64)),
        vec!["must be no more than 63 bytes"]
    );
}

#[test]
fn config_map_keys() {
    assert!(is_config_map_key("key.name").is_empty());
    assert!(is_config_map_key("KEY_NAME").is_empty());
    assert_eq!(is_config_map_key("a b").len(), 1);
    assert_eq!(is_config_map_key(".."), vec!["must not be '..'"]);
    assert_eq!(is_config_map_key("..a"), vec!["must not start with '..'"]);
    assert_eq!(is_config_map_key("").len(), 1);
}

#[test]
fn generate_name_prefix_allows_trailing_dash() {
    assert!(name_is_dns_subdomain("web-", true).is_empty());
    assert!(!name_is_dns_subdomain("web-", false).is_empty());
    assert!(name_is_dns_label("ns-", true).is_empty());
}

#[test]
fn object_meta_requires_a_name() {
    let m = ObjectMeta {
        namespace: Some("default".into()),
        ..Default::default()
    };
    let errs = validate_object_meta(&m, true, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(
        texts(&errs),
        vec!["metadata.name: Required value: name or generateName is required"]
    );
}

#[test]
fn object_meta_namespace_rules_follow_scope() {
    let errs = validate_object_meta(
        &meta("a", None),
        true,
        name_is_dns_subdomain,
        &Path::new("metadata"),
    );
    assert_eq!(texts(&errs), vec!["metadata.namespace: Required value"]);
    let errs = validate_object_meta(
        &meta("a", Some("ns")),
        false,
        name_is_dns_label,
        &Path::new("metadata"),
    );
    assert_eq!(
        texts(&errs),
        vec!["metadata.namespace: Forbidden: not allowed on this type"]
    );
    let errs = validate_object_meta(
        &meta("a", Some("Bad")),
        true,
        name_is_dns_subdomain,
        &Path::new("metadata"),
    );
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "metadata.namespace");
}

#[test]
fn object_meta_checks_name_labels_annotations_finalizers() {
    let mut m = meta("Bad_Name", Some("default"));
    m.labels = Some(BTreeMap::from([("-k".to_string(), "v v".to_string())]));
    m.annotations = Some(BTreeMap::from([(
        "Example.com/Ok".to_string(),
        "x".to_string(),
    )]));
    m.finalizers = Some(vec![
        "custom".into(),
        "example.com/fin".into(),
        "kubernetes".into(),
    ]);
    let errs = validate_object_meta(&m, true, name_is_dns_subdomain, &Path::new("metadata"));
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "metadata.name",
            "metadata.labels",
            "metadata.labels",
            "metadata.finalizers[0]"
        ]
    );
    assert_eq!(
        errs[3].to_string(),
        "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
    );
}

#[test]
fn annotation_total_size_is_capped() {
    let mut m = meta("a", Some("default"));
    m.annotations = Some(BTreeMap::from([(
        "big".to_string(),
        "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT),
    )]));
    let errs = validate_object_meta(&m, true, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(
        texts(&errs),
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );
}

#[test]
fn update_keeps_identity_fields_immutable() {
    let mut old = meta("a", Some("default"));
    old.uid = Some("u1".into());
    old.resource_version = Some("5".into());
    old.creation_timestamp = Some(Time(jiff::Timestamp::from_second(1_700_000_000).unwrap()));
    let mut new = old.clone();
    assert!(validate_object_meta_update(&new, &old, &Path::new("metadata")).is_empty());
    new.uid = Some("u2".into());
    new.name = Some("b".into());
    new.resource_version = None;
    let errs = validate_object_meta_update(&new, &old, &Path::new("metadata"));
    assert_eq!(
        texts(&errs),
        vec![
            "metadata.resourceVersion: Invalid value: \"\": must be specified for an update",
            "metadata.name: Invalid value: \"b\": field is immutable",
            "metadata.uid: Invalid value: \"u2\": field is immutable",
        ]
    );
}

#[test]
fn update_refuses_new_finalizers_while_deleting() {
    let mut old = meta("a", Some("default"));
    old.resource_version = Some("5".into());
    old.deletion_timestamp = Some(Time(jiff::Timestamp::from_second(1_700_000_000).unwrap()));
    let mut new = old.clone();
    new.finalizers = Some(vec!["example.com/x".into()]);
    let errs = validate_object_meta_update(&new, &old, &Path::new("metadata"));
    assert_eq!(
        texts(&errs),
        vec![
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/x\"}"
        ]
    );
}

#[test]
fn path_segment_names() {
    assert_eq!(is_path_segment_name(".."), vec!["may not be '..'"]);
    assert_eq!(
        is_path_segment_name("a/b%"),
        vec!["may not contain '/'", "may not contain '%'"]
    );
}
