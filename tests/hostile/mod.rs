//! Shared pieces of the hostile-input sweep: one reused HTTP client, the response invariants every
//! answer must meet, and a collector of violations (reported all at once, so one run shows every
//! bug rather than the first). Shared by two test binaries, each using part of it.
#![allow(dead_code)]

pub mod bodies;
pub mod discovery;
pub mod mutations;
pub mod patches;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

/// One reply: status code, the body parsed as JSON when it is JSON, and the raw bytes.
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

/// A kube-rs client reused for every request (a fresh client per request costs a TLS handshake).
pub struct Http {
    client: kube::Client,
    /// Requests sent, for the summary.
    pub sent: usize,
}

impl Http {
    pub fn new(client: kube::Client) -> Self {
        Self { client, sent: 0 }
    }

    /// Sends one request; a reply slower than 20 s counts as a hang and is reported as code 0.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        self.sent += 1;
        let mut req = http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(body).expect("request");
        let fut = async {
            let resp = self.client.send(req.map(kube::client::Body::from)).await?;
            let code = resp.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .map_err(|e| kube::Error::Service(Box::new(e)))?
                .to_bytes();
            Ok::<_, kube::Error>((code, bytes))
        };
        match tokio::time::timeout(Duration::from_secs(20), fut).await {
            Ok(Ok((code, bytes))) => Reply {
                code,
                body: serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into())
                }),
            },
            Ok(Err(e)) => Reply {
                code: 0,
                body: Value::String(format!("transport error: {e}")),
            },
            Err(_) => Reply {
                code: 0,
                body: Value::String("no reply within 20 s".into()),
            },
        }
    }

    /// GET returning the JSON body when 200, `None` when 404.
    pub async fn get(&mut self, path: &str) -> Option<Value> {
        let r = self.send("GET", path, None, Vec::new()).await;
        match r.code {
            200 => Some(r.body),
            404 => None,
            other => panic!("GET {path}: {other} {}", r.body),
        }
    }
}

/// Violations found so far, deduplicated by their one-line summary.
#[derive(Default)]
pub struct Findings {
    seen: BTreeSet<String>,
    pub list: Vec<String>,
    /// Replies where kube-apiserver itself answers 500 and Capstan matches it.
    pub kube_500s: usize,
}

impl Findings {
    pub fn add(&mut self, summary: String, detail: String) {
        if self.seen.insert(summary.clone()) {
            self.list.push(format!("{summary}\n    {detail}"));
        }
    }

    /// Checks the invariants every reply must meet: no 5xx and no hang, and every error is a
    /// `v1` `Status` with `status: Failure`, a reason and `code` equal to the HTTP status.
    /// Returns whether the request was refused (any non-2xx).
    pub fn check(&mut self, what: &str, reply: &Reply) -> bool {
        let code = reply.code;
        let short = short(&reply.body);
        if code == 500 && kube_answers_500(&reply.body) {
            self.kube_500s += 1;
            return true;
        }
        if code == 0 || code >= 500 {
            self.add(format!("{what}: answered {code}"), short);
            return true;
        }
        if code < 400 {
            return false;
        }
        let s = &reply.body;
        let ok = s["kind"] == "Status"
            && s["apiVersion"] == "v1"
            && s["status"] == "Failure"
            && s["reason"].as_str().is_some_and(|r| !r.is_empty())
            && s["code"] == code;
        if !ok {
            self.add(format!("{what}: {code} without a proper Status"), short);
        }
        true
    }
}

/// Whether `status` is one of the 500s kube-apiserver answers too: errors that reach
/// `ErrorToAPIStatus` as plain Go errors become code 500 with no reason. Capstan matches them on
/// purpose (kube parity), so they are not findings:
/// - server-side apply of a patch the schema rejects: `structuredmerge.go` wraps the typed
///   conversion error in `fmt.Errorf("failed to create typed patch object ...")`
///   (kubernetes/kubernetes#122480, #139253, still open);
/// - strategic merge patch errors that `interpretStrategicMergePatchError` (patch.go) passes
///   through unchanged: an unknown `$patch` directive, a list element without its merge key,
///   an argument of the wrong type, mixed list element types.
/// - an object over etcd's request limit (1.5 MiB) on etcd storage: kube-apiserver 1.37.2 answers
///   500 "etcdserver: request is too large" (seen side by side in tests/hostile_vs_kube.rs);
///   Capstan's Status carries reason InternalError there.
fn kube_answers_500(status: &Value) -> bool {
    if status["code"] == 500
        && status["message"]
            .as_str()
            .is_some_and(|m| m.contains("etcdserver: request is too large"))
    {
        return true;
    }
    const KUBE_PLAIN_ERRORS: &[&str] = &[
        "failed to create typed patch object (",
        "unknown patch type: ",
        "does not contain declared merge key: ",
        "expected a ",
        "list element types are not identical: ",
    ];
    status["kind"] == "Status"
        && status["apiVersion"] == "v1"
        && status["status"] == "Failure"
        && status["code"] == 500
        && status.get("reason").is_none()
        && status["message"]
            .as_str()
            .is_some_and(|m| KUBE_PLAIN_ERRORS.iter().any(|p| m.contains(p)))
}

/// The start of a body, for reports.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// A tiny deterministic generator (64-bit LCG), so sampling is the same on every run.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Up to `n` items of `items`, chosen without replacement.
    pub fn sample<T: Clone>(&mut self, items: &[T], n: usize) -> Vec<T> {
        let mut pool: Vec<T> = items.to_vec();
        let mut out = Vec::new();
        while !pool.is_empty() && out.len() < n {
            let i = (self.next() as usize) % pool.len();
            out.push(pool.swap_remove(i));
        }
        out
    }

    /// Garbage bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

/// Percent-encodes everything but unreserved characters, for names the server should have refused.
pub fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path` with `query` appended when there is one.
pub fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}
