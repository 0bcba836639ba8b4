use super::*;

fn list(rv: Option<&str>, m: Option<ResourceVersionMatch>) -> ListOptions {
    ListOptions {
        resource_version: rv.map(Into::into),
        resource_version_match: m,
        ..Default::default()
    }
}

fn messages(opts: &ListOptions) -> Vec<String> {
    list_options_errors(opts)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn match_needs_a_resource_version() {
    assert_eq!(
        messages(&list(None, Some(ResourceVersionMatch::NotOlderThan))),
        vec![
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
        ]
    );
    assert!(messages(&list(Some("5"), Some(ResourceVersionMatch::Exact))).is_empty());
}

#[test]
fn match_is_forbidden_with_continue() {
    let mut opts = list(Some("5"), Some(ResourceVersionMatch::NotOlderThan));
    opts.continue_token = Some("abc".into());
    assert_eq!(
        messages(&opts),
        vec![
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"
        ]
    );
}

#[test]
fn exact_is_forbidden_for_zero() {
    assert_eq!(
        messages(&list(Some("0"), Some(ResourceVersionMatch::Exact))),
        vec![
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""
        ]
    );
}

#[test]
fn send_initial_events_only_on_watch_with_not_older_than() {
    let mut opts = list(None, None);
    opts.send_initial_events = Some(true);
    assert_eq!(
        messages(&opts),
        vec!["sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"]
    );
    opts.watch = true;
    assert_eq!(
        messages(&opts),
        vec![
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
        ]
    );
    opts.resource_version_match = Some(ResourceVersionMatch::NotOlderThan);
    assert!(messages(&opts).is_empty());
}

#[test]
fn watch_match_needs_send_initial_events() {
    let mut opts = list(Some("1"), Some(ResourceVersionMatch::Exact));
    opts.watch = true;
    assert_eq!(
        messages(&opts),
        vec![
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            "resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"",
        ]
    );
}

#[test]
fn validation_error_is_a_422_on_list_options() {
    let err = validate_list_options(&list(None, Some(ResourceVersionMatch::Exact))).unwrap_err();
    assert_eq!(err.code(), 422);
    let status = err.to_status();
    assert_eq!(
        status.message.as_deref(),
        Some(
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
        )
    );
    let details = status.details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("ListOptions"));
    assert_eq!(details.group.as_deref(), Some("meta.k8s.io"));
}

#[test]
fn unknown_match_values_are_unsupported() {
    assert_eq!(ResourceVersionMatch::parse("", false).unwrap(), None);
    assert_eq!(
        ResourceVersionMatch::parse("Exact", false).unwrap(),
        Some(ResourceVersionMatch::Exact)
    );
    let err = ResourceVersionMatch::parse("Newest", false).unwrap_err();
    assert_eq!(err.code(), 422);
    assert!(err.to_string().contains(
        "resourceVersionMatch: Unsupported value: \"Newest\": supported values: \"Exact\", \"NotOlderThan\", \"\""
    ));
}

#[test]
fn resource_versions_parse_like_kube() {
    assert_eq!(parse_resource_version("0").unwrap(), 0);
    assert_eq!(parse_resource_version("123").unwrap(), 123);
    let err = parse_resource_version("abc").unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "invalid resource version: resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"
    );
    assert!(
        parse_resource_version("-1")
            .unwrap_err()
            .to_string()
            .ends_with("invalid syntax")
    );
    assert!(
        parse_resource_version("99999999999999999999")
            .unwrap_err()
            .to_string()
            .ends_with("value out of range")
    );
}

#[test]
fn read_semantics() {
    assert_eq!(ReadAt::for_list(&list(None, None)).unwrap(), ReadAt::Latest);
    assert_eq!(
        ReadAt::for_list(&list(Some("0"), None)).unwrap(),
        ReadAt::Any
    );
    assert_eq!(
        ReadAt::for_list(&list(Some("7"), None)).unwrap(),
        ReadAt::NotOlderThan(7)
    );
    assert_eq!(
        ReadAt::for_list(&list(Some("7"), Some(ResourceVersionMatch::Exact))).unwrap(),
        ReadAt::Exact(7)
    );
    assert_eq!(
        ReadAt::for_list(&list(Some("7"), Some(ResourceVersionMatch::NotOlderThan))).unwrap(),
        ReadAt::NotOlderThan(7)
    );
    let mut legacy_paged = list(Some("7"), None);
    legacy_paged.limit = Some(10);
    assert_eq!(ReadAt::for_list(&legacy_paged).unwrap(), ReadAt::Exact(7));
    assert_eq!(
        ReadAt::for_get(&GetOptions {
            resource_version: Some("3".into())
        })
        .unwrap(),
        ReadAt::NotOlderThan(3)
    );
    assert_eq!(
        ReadAt::for_list(&list(Some("x"), None)).unwrap_err().code(),
        400
    );
}

#[test]
fn continue_tokens_round_trip_relative_to_the_prefix() {
    let token = encode_continue(
        "/capstan/core/pods/default/web\u{0}",
        "/capstan/core/pods/",
        42,
    )
    .unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token)
        .unwrap();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        "{\"v\":\"meta.k8s.io/v1\",\"rv\":42,\"start\":\"default/web\\u0000\"}"
    );
    let (key, rv) = decode_continue(&token, "/capstan/core/pods/").unwrap();
    assert_eq!(key, "/capstan/core/pods/default/web\u{0}");
    assert_eq!(rv, 42);
    assert!(encode_continue("/other/x", "/capstan/", 1).is_err());
}

fn raw_token(json: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

#[test]
fn continue_tokens_that_escape_the_prefix_are_refused() {
    let bad = raw_token(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"../secrets/x"}"#);
    let err = decode_continue(&bad, "/capstan/core/pods/").unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "invalid continue token: continue key is not valid: ../secrets/x"
    );
    let sneaky = raw_token(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"a/../../b"}"#);
    assert!(decode_continue(&sneaky, "/p/").is_err());
}

#[test]
fn malformed_continue_tokens_are_bad_requests() {
    let msg = |t: &str| decode_continue(t, "/p/").unwrap_err().to_string();
    assert_eq!(
        msg("!!!"),
        "invalid continue token: continue key is not valid: illegal base64 data at input byte 0"
    );
    assert!(
        msg(&raw_token("{")).starts_with("invalid continue token: continue key is not valid: ")
    );
    assert_eq!(
        msg(&raw_token(r#"{"v":"meta.k8s.io/v2","rv":5,"start":"a"}"#)),
        "invalid continue token: continue key is not valid: server does not recognize this encoded version meta.k8s.io/v2"
    );
    assert_eq!(
        msg(&raw_token(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#)),
        "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
    );
    assert_eq!(
        msg(&raw_token(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#)),
        "invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
    );
    let latest = raw_token(r#"{"v":"meta.k8s.io/v1","rv":-1,"start":"a"}"#);
    assert_eq!(
        decode_continue(&latest, "/p/").unwrap(),
        ("/p/a".to_string(), -1)
    );
}
