//! Hostile versions of a valid object: wrong JSON types at sampled field paths, out-of-range
//! numbers, huge strings, invalid UTF-8, deep nesting, duplicate keys, unknown fields, odd names
//! and resourceVersions, and YAML and protobuf bodies a parser could choke on.

use serde_json::{Value, json};

use super::Lcg;

/// One hostile body, with extra query parameters to send it with.
#[derive(Clone)]
pub struct Mutation {
    pub label: String,
    pub bytes: Vec<u8>,
    pub query: String,
    /// The status code kube answers, when the sweep pins it.
    pub expect: Option<u16>,
}

const SENTINEL: &str = "\u{1}HOSTILE\u{1}";
const SENTINEL_JSON: &str = "\"\\u0001HOSTILE\\u0001\"";

/// Every JSON pointer inside `v` (not the root), depth first.
pub fn pointers(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (k, child) in children {
        let p = format!("{at}/{k}");
        out.push(p.clone());
        walk(child, p, out);
    }
}

/// `obj` with the value at `pointer` replaced by `raw` JSON text (which need not be valid JSON).
pub fn splice(obj: &Value, pointer: &str, raw: &[u8]) -> Vec<u8> {
    let mut o = obj.clone();
    if let Some(slot) = o.pointer_mut(pointer) {
        *slot = json!(SENTINEL);
    } else {
        return serde_json::to_vec(&o).expect("json");
    }
    let text = serde_json::to_vec(&o).expect("json");
    replace(&text, SENTINEL_JSON.as_bytes(), raw)
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    match hay.windows(needle.len()).position(|w| w == needle) {
        Some(i) => [&hay[..i], with, &hay[i + needle.len()..]].concat(),
        None => hay.to_vec(),
    }
}

/// Wrong JSON types and out-of-range numbers, as raw JSON text.
pub const WRONG_VALUES: &[&str] = &[
    "null",
    "7",
    "\"s\"",
    "true",
    "[1]",
    "{\"x\":1}",
    "1e400",
    "18446744073709551616",
    "-9223372036854775809",
];

fn m(label: impl Into<String>, bytes: Vec<u8>) -> Mutation {
    Mutation {
        label: label.into(),
        bytes,
        query: String::new(),
        expect: None,
    }
}

fn deep(open: &str, close: &str, depth: usize) -> Vec<u8> {
    [open.repeat(depth), close.repeat(depth)]
        .concat()
        .into_bytes()
}

/// Hostile JSON bodies derived from `valid`, with `paths` field paths sampled by `rng`.
pub fn json_bodies(valid: &Value, rng: &mut Lcg, paths: usize) -> Vec<Mutation> {
    let all: Vec<String> = pointers(valid)
        .into_iter()
        .filter(|p| p != "/apiVersion" && p != "/kind")
        .collect();
    let mut out = Vec::new();
    for p in rng.sample(&all, paths) {
        for raw in WRONG_VALUES {
            out.push(m(format!("{p}={raw}"), splice(valid, &p, raw.as_bytes())));
        }
    }
    let leaf = rng
        .sample(&all, 1)
        .pop()
        .unwrap_or_else(|| "/metadata".into());
    let mut with_label = valid.clone();
    with_label["metadata"]["labels"] = json!({"hostile": SENTINEL});
    let long = format!("\"{}\"", "x".repeat(1536 * 1024));
    out.extend([
        m(
            "invalid UTF-8 in a label",
            splice(&with_label, "/metadata/labels/hostile", b"\"a\xff\xfeb\""),
        ),
        m(
            "invalid UTF-8 in a key",
            replace(
                &serde_json::to_vec(valid).expect("json"),
                b"\"metadata\"",
                b"\"meta\xc3\x28data\"",
            ),
        ),
        m(
            format!("{leaf}=1.5 MiB string"),
            splice(valid, &leaf, long.as_bytes()),
        ),
        m(
            "1.5 MiB annotation",
            splice(
                &{
                    let mut v = valid.clone();
                    v["metadata"]["annotations"] = json!({"big": SENTINEL});
                    v
                },
                "/metadata/annotations/big",
                long.as_bytes(),
            ),
        ),
        m(
            format!("{leaf}=arrays 10000 deep"),
            splice(valid, &leaf, &deep("[", "]", 10_000)),
        ),
        m(
            format!("{leaf}=objects 10000 deep"),
            splice(
                valid,
                &leaf,
                &[
                    "{\"a\":".repeat(10_000).into_bytes(),
                    b"1".to_vec(),
                    "}".repeat(10_000).into_bytes(),
                ]
                .concat(),
            ),
        ),
        m("body arrays 10000 deep", deep("[", "]", 10_000)),
        m("body arrays 129 deep", deep("[", "]", 129)),
        m(
            "duplicate metadata key",
            replace(
                &serde_json::to_vec(valid).expect("json"),
                b"{",
                b"{\"metadata\":{\"name\":\"dup-a\"},",
            ),
        ),
        m("empty body", Vec::new()),
        m("truncated body", b"{\"apiVersion\": ".to_vec()),
        m("array body", b"[]".to_vec()),
        m("string body", b"\"s\"".to_vec()),
        m("number body", b"12".to_vec()),
        m("null body", b"null".to_vec()),
        m(
            "trailing garbage",
            [serde_json::to_vec(valid).expect("json"), b"}{".to_vec()].concat(),
        ),
        m("NUL byte body", b"\0\0\0".to_vec()),
    ]);
    for (label, pointer, raw) in [
        ("apiVersion v999", "/apiVersion", "\"v999\""),
        ("apiVersion nope/v1", "/apiVersion", "\"nope/v1\""),
        ("apiVersion slashes", "/apiVersion", "\"a/b/c\""),
        ("apiVersion number", "/apiVersion", "5"),
        ("kind Nope", "/kind", "\"Nope\""),
        ("kind empty", "/kind", "\"\""),
        ("kind object", "/kind", "{}"),
    ] {
        out.push(m(label, splice(valid, pointer, raw.as_bytes())));
    }
    for (label, key) in [
        ("no kind", "kind"),
        ("no apiVersion", "apiVersion"),
        ("no metadata", "metadata"),
    ] {
        let mut v = valid.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove(key);
        }
        out.push(m(label, serde_json::to_vec(&v).expect("json")));
    }
    for name in [
        "", "UPPER", "a/b", "..", ".", "a%2Fb", "a b", "ü", "-a", "a\u{0}b", "a\nb",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["x".repeat(300)])
    {
        let mut v = valid.clone();
        v["metadata"]["name"] = json!(name);
        out.push(m(
            format!("name {name:.20?}"),
            serde_json::to_vec(&v).expect("json"),
        ));
    }
    for (mode, expect) in [
        ("Strict", Some(400)),
        ("Warn", None),
        ("Ignore", None),
        ("bogus", None),
        ("", None),
    ] {
        let mut v = valid.clone();
        v["hostileUnknown"] = json!(1);
        v["metadata"]["hostileUnknown"] = json!({"x": 1});
        let mut mu = m(
            format!("unknown fields, fieldValidation={mode}"),
            serde_json::to_vec(&v).expect("json"),
        );
        mu.query = format!("fieldValidation={mode}");
        mu.expect = expect;
        out.push(mu);
    }
    out
}

/// Bodies with odd `metadata.resourceVersion` values (sent on create and update).
pub fn resource_versions(valid: &Value) -> Vec<Mutation> {
    ["", "-1", "abc", "99999999999999999999", "0", " 1"]
        .iter()
        .map(|rv| {
            let mut v = valid.clone();
            v["metadata"]["resourceVersion"] = json!(rv);
            m(
                format!("resourceVersion {rv:?}"),
                serde_json::to_vec(&v).expect("json"),
            )
        })
        .collect()
}

/// Hostile YAML bodies (for `application/yaml` creates and apply patches).
pub fn yaml_bodies(valid: &Value) -> Vec<Mutation> {
    let api_version = valid["apiVersion"].as_str().unwrap_or("v1");
    let kind = valid["kind"].as_str().unwrap_or("Pod");
    let name = valid["metadata"]["name"].as_str().unwrap_or("x");
    let head = format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n");
    // billion laughs, seven levels of ten: ten million strings if expanded in full
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let letters = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for w in letters.windows(2) {
        let (prev, cur) = (w[0], w[1]);
        laughs.push_str(&format!(
            "{cur}: &{cur} [{}]\n",
            vec![format!("*{prev}"); 10].join(",")
        ));
    }
    vec![
        m("YAML billion laughs", format!("{head}{}", laughs.replace("a: &a", "  annotations: {}\nx: &a")).into_bytes()),
        m("YAML billion laughs in metadata", format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  labels: *h\n{laughs}").into_bytes()),
        m("YAML flow arrays 10000 deep", format!("{head}spec: {}\n", String::from_utf8(deep("[", "]", 10_000)).expect("ascii")).into_bytes()),
        m("YAML block maps 2000 deep", {
            let mut s = head.clone();
            for i in 0..2000 {
                s.push_str(&format!("{}a:\n", " ".repeat(i)));
            }
            s.into_bytes()
        }),
        m("YAML invalid UTF-8", [head.as_bytes(), b"data:\n  k: \"\xff\xfe\"\n"].concat()),
        m("YAML duplicate keys", format!("{head}metadata:\n  name: other\n").into_bytes()),
        m("YAML tab indentation", format!("{head}\tspec: 1\n").into_bytes()),
        m("YAML two documents", format!("{head}---\n{head}").into_bytes()),
        m("YAML binary tag", format!("{head}data: !!binary AAAA\n").into_bytes()),
        m("YAML unknown tag", format!("{head}data: !hostile {{}}\n").into_bytes()),
        m("YAML merge key", format!("base: &b {{x: 1}}\n{head}data:\n  <<: *b\n").into_bytes()),
        m("YAML undefined alias", format!("{head}data: *nowhere\n").into_bytes()),
        m("YAML huge int", format!("{head}spec:\n  x: 1e400\n  y: 18446744073709551616\n").into_bytes()),
        m("YAML not a map", b"- a\n- b\n".to_vec()),
        m("YAML scalar", b"just a string\n".to_vec()),
        m("YAML empty", Vec::new()),
    ]
}

/// Garbage protobuf bodies, with and without kube's `k8s\0` magic prefix.
pub fn protobuf_bodies(rng: &mut Lcg) -> Vec<Mutation> {
    vec![
        m("protobuf random", rng.bytes(256)),
        m(
            "protobuf magic then random",
            [b"k8s\0".to_vec(), rng.bytes(256)].concat(),
        ),
        m(
            "protobuf magic then truncated varint",
            b"k8s\0\x0a\xff\xff\xff".to_vec(),
        ),
        m(
            "protobuf magic then huge length",
            b"k8s\0\x0a\xff\xff\xff\xff\x0f".to_vec(),
        ),
        m("protobuf magic only", b"k8s\0".to_vec()),
        m("protobuf empty", Vec::new()),
    ]
}
