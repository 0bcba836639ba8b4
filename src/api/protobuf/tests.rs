//! The vectors in testdata/go were written by apimachinery's own protobuf serializer, each beside
//! encoding/json's rendering of the same Go value (tools/protobuf): decoding the first must give
//! the second exactly. testdata/kubectl holds request bodies captured from real kubectl.

use serde_json::{Value, json};

use super::*;

fn vector(name: &str) -> (Vec<u8>, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/protobuf/testdata");
    let name = if name.contains('/') {
        name.to_string()
    } else {
        format!("go/{name}")
    };
    let pb = std::fs::read(format!("{dir}/{name}.pb")).unwrap();
    let js = std::fs::read(format!("{dir}/{name}.json")).unwrap();
    (pb, serde_json::from_slice(&js).unwrap())
}

fn assert_vector(name: &str) -> Value {
    let (pb, expected) = vector(name);
    let decoded = decode(&pb).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        decoded,
        expected,
        "{name}:\n got {}\nwant {}",
        serde_json::to_string_pretty(&decoded).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
    decoded
}

#[test]
fn embedded_schema_loads() {
    let schema = schema::schema().unwrap();
    assert_eq!(
        schema.message_for("v1", "Pod"),
        Some("k8s.io.api.core.v1.Pod")
    );
    assert_eq!(
        schema.message_for("policy/v1", "DeleteOptions"),
        Some("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")
    );
    assert_eq!(schema.message_for("v1", "PodSpec"), None);
}

#[test]
fn namespace_as_kubectl_sends_it() {
    let ns = assert_vector("namespace");
    // Every ObjectMeta string is on the wire, empty: none of them may reach the JSON.
    assert_eq!(ns["metadata"], json!({"name": "protobuf-ns"}));
    assert_eq!(ns["spec"], json!({}));
}

#[test]
fn configmap_binary_data_is_base64() {
    let cm = assert_vector("configmap");
    assert_eq!(cm["binaryData"]["blob"], json!("AAEC/v8="));
    assert_eq!(cm["binaryData"]["nothing"], json!(""));
    // A pointer to false is kept; an empty map value is kept.
    assert_eq!(cm["immutable"], json!(false));
    assert_eq!(cm["data"]["empty"], json!(""));
}

#[test]
fn secret() {
    let secret = assert_vector("secret");
    assert_eq!(secret["data"]["password"], json!("czNjcjN0"));
    assert_eq!(secret["metadata"]["generateName"], json!("creds-"));
}

#[test]
fn pod_with_quantities_ports_probes_and_times() {
    let pod = assert_vector("pod");
    let main = &pod["spec"]["containers"][0];
    assert_eq!(main["resources"]["limits"]["cpu"], json!("500m"));
    assert_eq!(main["readinessProbe"]["httpGet"]["port"], json!("http"));
    assert_eq!(main["livenessProbe"]["tcpSocket"]["port"], json!(8080));
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], json!(0));
    assert_eq!(pod["spec"]["securityContext"]["runAsUser"], json!(0));
    assert_eq!(
        pod["metadata"]["creationTimestamp"],
        json!("2026-11-27T10:11:12Z")
    );
    assert_eq!(
        pod["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
    );
}

#[test]
fn delete_options_eviction_binding() {
    let opts = assert_vector("deleteoptions");
    assert_eq!(opts["gracePeriodSeconds"], json!(0));
    assert_eq!(opts["kind"], json!("DeleteOptions"));
    let eviction = assert_vector("eviction");
    assert_eq!(eviction["deleteOptions"]["orphanDependents"], json!(false));
    assert_vector("binding");
}

#[test]
fn event_micro_times() {
    let event = assert_vector("event");
    assert_eq!(event["eventTime"], json!("2026-11-27T10:11:12.345678Z"));
    assert_eq!(
        event["series"]["lastObservedTime"],
        json!("2026-11-27T10:11:13.000005Z")
    );
    // A zero Time without omitzero is written as null, as Go does.
    assert_eq!(event["lastTimestamp"], json!(null));
}

#[test]
fn lease_as_leader_election_writes_it() {
    let lease = assert_vector("lease");
    assert_eq!(
        lease["spec"]["renewTime"],
        json!("2026-11-27T10:11:14.000005Z")
    );
    // A zero int32 behind a pointer is present, as Go writes it.
    assert_eq!(lease["spec"]["leaseTransitions"], json!(0));
    let schema = schema::schema().unwrap();
    assert_eq!(
        schema.message_for("coordination.k8s.io/v1", "Lease"),
        Some("k8s.io.api.coordination.v1.Lease")
    );
}

#[test]
fn raw_extensions_hold_json_or_protobuf() {
    assert_vector("watchevent-json");
    assert_vector("watchevent-protobuf");
}

#[test]
fn embedding_depth_is_bounded() {
    // A WatchEvent whose object is itself such a WatchEvent, and so on.
    let (mut body, _) = vector("watchevent-protobuf");
    for _ in 0..=MAX_EMBEDDING {
        body = wrap_in_watch_event(&body);
    }
    match decode(&body) {
        Err(ProtobufError::Malformed(m)) => assert!(m.contains("embedded"), "{m}"),
        other => panic!("{other:?}"),
    }
    // One level less decodes.
    let (mut body, _) = vector("watchevent-protobuf");
    for _ in 0..MAX_EMBEDDING - 1 {
        body = wrap_in_watch_event(&body);
    }
    assert!(decode(&body).is_ok());
}

/// Hand-encodes `k8s\0` + Unknown{typeMeta{v1, WatchEvent}, raw: WatchEvent{type, object{raw}}}.
fn wrap_in_watch_event(inner: &[u8]) -> Vec<u8> {
    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2];
        let mut len = bytes.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(bytes);
        out
    }
    let event = [field(1, b"ADDED"), field(2, &field(1, inner))].concat();
    let type_meta = [field(1, b"v1"), field(2, b"WatchEvent")].concat();
    [MAGIC.to_vec(), field(1, &type_meta), field(2, &event)].concat()
}

#[test]
fn bodies_captured_from_kubectl() {
    assert_vector("kubectl/namespace");
    assert_vector("kubectl/configmap");
    assert_vector("kubectl/secret");
}

#[test]
fn envelope_errors() {
    assert_eq!(decode(b""), Err(ProtobufError::Empty("empty data")));
    assert_eq!(decode(b"k8s\0"), Err(ProtobufError::Empty("empty body")));
    assert_eq!(
        decode(b"{\"kind\":\"Pod\"}"),
        Err(ProtobufError::NotProtobuf)
    );
    assert!(matches!(
        decode(b"k8s\0\x0a\xff"),
        Err(ProtobufError::Malformed(_))
    ));
    // Envelope {typeMeta{apiVersion: v1}} without a kind or raw.
    let no_kind = b"k8s\0\x0a\x04\x0a\x02v1";
    assert_eq!(
        decode(no_kind).unwrap_err().to_string(),
        "Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:\"v1\", Kind:\"\"}'"
    );
    let unknown = b"k8s\0\x0a\x0c\x0a\x02v1\x12\x06Gadget";
    assert_eq!(
        decode(unknown).unwrap_err().to_string(),
        "no kind \"Gadget\" is registered for version \"v1\""
    );
    // Raw bytes that are not a Namespace.
    let bad_raw = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x02\x0a\x09";
    assert!(matches!(decode(bad_raw), Err(ProtobufError::Malformed(_))));
}

#[test]
fn defaults_fill_an_empty_envelope_type() {
    // Unknown{raw: Namespace{metadata{name: demo}}} with no typeMeta at all.
    let body = b"k8s\0\x12\x08\x0a\x06\x0a\x04demo";
    assert!(matches!(decode(body), Err(ProtobufError::MissingKind(_))));
    let envelope = Envelope::parse(body, Some(("v1", "Namespace"))).unwrap();
    assert_eq!(
        (envelope.api_version.as_str(), envelope.kind.as_str()),
        ("v1", "Namespace")
    );
    assert_eq!(
        envelope.decode().unwrap()["metadata"]["name"],
        json!("demo")
    );
    // The envelope's own type wins over the defaults.
    let (pb, _) = vector("secret");
    let envelope = Envelope::parse(&pb, Some(("v1", "Namespace"))).unwrap();
    assert_eq!(envelope.kind, "Secret");
}

#[test]
fn kinds_with_messages() {
    assert!(has_kind("v1", "Namespace"));
    assert!(has_kind("policy/v1", "Eviction"));
    assert!(has_kind("v1", "DeleteOptions"));
    assert!(has_kind("authentication.k8s.io/v1", "SelfSubjectReview"));
    assert!(has_kind(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview"
    ));
    assert!(has_kind(
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview"
    ));
    // only the self reviews of those groups are served
    assert!(!has_kind("authentication.k8s.io/v1", "TokenRequest"));
    assert!(!has_kind("capstan.dev/v1", "Pod"));
    assert!(!has_kind("v1", "ObjectMeta"));
}

#[test]
fn versions() {
    assert_eq!(version_of("v1"), "v1");
    assert_eq!(version_of("policy/v1"), "v1");
    assert_eq!(version_of("policy/"), "");
    assert_eq!(version_of("a/b/c"), "");
}
