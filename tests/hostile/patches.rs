//! Hostile JSON patches and strategic merge patch directives.

use serde_json::{Value, json};

use super::{Lcg, mutations};

/// Hostile JSON patches: wrong values at sampled paths, and malformed operations.
pub fn json_patches(
    template: &Value,
    rng: &mut Lcg,
    paths_per_kind: usize,
) -> Vec<(String, Vec<u8>)> {
    let paths = mutations::pointers(template);
    let mut out = Vec::new();
    for p in rng.sample(&paths, paths_per_kind) {
        for raw in mutations::WRONG_VALUES {
            out.push((
                format!("replace {p} with {raw}"),
                format!(
                    "[{{\"op\":\"replace\",\"path\":{},\"value\":{raw}}}]",
                    json!(p)
                )
                .into_bytes(),
            ));
        }
    }
    let deep = format!(
        "[{{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{}{}}}]",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    for raw in [
        r#"[{"op":"bogus","path":"/metadata"}]"#,
        r#"[{"op":"replace","path":"metadata"}]"#,
        r#"[{"op":"replace"}]"#,
        r#"[{"op":"test","path":"/metadata/name","value":"other"}]"#,
        r#"[{"op":"add","path":"/metadata/finalizers/99","value":"x"}]"#,
        r#"[{"op":"add","path":"/metadata/finalizers/-1","value":"x"}]"#,
        r#"[{"op":"add","path":"/metadata/finalizers/99999999999999999999","value":"x"}]"#,
        r#"[{"op":"move","from":"/nowhere","path":"/metadata/x"}]"#,
        r#"[{"op":"copy","from":"/metadata","path":"/metadata/labels/x"}]"#,
        r#"[{"op":"remove","path":"/metadata"}]"#,
        r#"[{"op":"remove","path":"/"}]"#,
        r#"[{"op":"replace","path":"","value":5}]"#,
        r#"[{"op":"replace","path":"","value":null}]"#,
        r#"[{"op":"replace","path":"/metadata/name","value":"renamed"}]"#,
        r#"[{"op":"replace","path":"/kind","value":"Nope"}]"#,
        r#"[{"op":"replace","path":"/apiVersion","value":"v999"}]"#,
        r#"[{"op":"add","path":"/metadata/labels/a~2b","value":"x"}]"#,
        r#"{"op":"add"}"#,
        r#"[5]"#,
        r#"[null]"#,
        r#"[]]"#,
    ] {
        out.push((raw.chars().take(60).collect(), raw.as_bytes().to_vec()));
    }
    out.push(("value 10000 arrays deep".into(), deep.into_bytes()));
    out.push((
        "invalid UTF-8 value".into(),
        b"[{\"op\":\"add\",\"path\":\"/metadata/labels/x\",\"value\":\"\xff\"}]".to_vec(),
    ));
    out
}

/// Strategic merge patches with malformed directives.
pub fn strategic_directives() -> Vec<(String, Vec<u8>)> {
    [
        r#"{"$patch":"bogus"}"#,
        r#"{"$patch":"delete"}"#,
        r#"{"$patch":"replace"}"#,
        r#"{"metadata":{"$patch":5}}"#,
        r#"{"metadata":{"$retainKeys":5}}"#,
        r#"{"metadata":{"$retainKeys":["nope"],"labels":{"a":"b"}}}"#,
        r#"{"metadata":{"$setElementOrder/finalizers":"notalist"}}"#,
        r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":{}}}"#,
        r#"{"metadata":{"finalizers":[{"$patch":"delete"}]}}"#,
        r#"{"metadata":{"ownerReferences":[{"$patch":"delete"}]}}"#,
        r#"{"metadata":{"ownerReferences":[{"$patch":"bogus","uid":"u"}]}}"#,
        r#"{"metadata":{"ownerReferences":"notalist"}}"#,
        r#"{"spec":{"containers":[{"$patch":"delete"}]}}"#,
        r#"{"spec":{"containers":[{"$patch":"replace"}]}}"#,
        r#"{"spec":{"$setElementOrder/containers":[{"nokey":1}]}}"#,
        r#"{"spec":{"containers":[{"image":"no-name"}]}}"#,
        r#"{"spec":{"containers":[5]}}"#,
        r#"{"spec":{"containers":{"name":"x"}}}"#,
        r#"{"spec":{"$deleteFromPrimitiveList/containers":["x"]}}"#,
        r#"{"data":{"$patch":"delete"}}"#,
        r#"[1,2]"#,
    ]
    .iter()
    .map(|s| (s.to_string(), s.as_bytes().to_vec()))
    .collect()
}
