//! The resources the sweep covers, read from discovery at run time (so new kinds are swept
//! without editing the test), and the garbage query parameters sent to their reads.

use super::{Findings, Http};

/// Subresources that need a kubelet (or stream), left out.
const KUBELET: &[&str] = &["log", "exec", "attach", "portforward", "proxy"];

/// One served resource from discovery.
#[derive(Clone, Debug)]
pub struct Resource {
    pub prefix: String,
    pub group_version: String,
    pub name: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Resource {
    pub fn can(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
    pub fn collection(&self) -> String {
        let base = self.name.split('/').next().unwrap_or_default();
        if self.namespaced {
            format!("{}/namespaces/default/{base}", self.prefix)
        } else {
            format!("{}/{base}", self.prefix)
        }
    }
    pub fn what(&self) -> String {
        format!("{}/{}", self.group_version, self.name)
    }
}

pub async fn discover(http: &mut Http) -> Vec<Resource> {
    let mut versions = vec![("/api/v1".to_string(), "v1".to_string())];
    let groups = http.get("/apis").await.expect("/apis");
    for g in groups["groups"].as_array().expect("groups") {
        for v in g["versions"].as_array().expect("versions") {
            let gv = v["groupVersion"].as_str().expect("groupVersion");
            versions.push((format!("/apis/{gv}"), gv.to_string()));
        }
    }
    let mut out = Vec::new();
    for (prefix, gv) in versions {
        let list = http.get(&prefix).await.expect("resource list");
        for r in list["resources"].as_array().expect("resources") {
            let name = r["name"].as_str().expect("name").to_string();
            if name.split('/').nth(1).is_some_and(|s| KUBELET.contains(&s)) {
                continue;
            }
            out.push(Resource {
                prefix: prefix.clone(),
                group_version: gv.clone(),
                kind: r["kind"].as_str().expect("kind").to_string(),
                namespaced: r["namespaced"].as_bool().unwrap_or(false),
                verbs: r["verbs"]
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                name,
            });
        }
    }
    out
}

/// Garbage query parameters on list, watch and get.
pub async fn sweep_read_queries(http: &mut Http, f: &mut Findings, r: &Resource) {
    let coll = r.collection();
    if r.can("list") {
        for q in [
            "limit=-1",
            "limit=abc",
            "limit=99999999999999999999",
            "timeoutSeconds=-5",
            "timeoutSeconds=abc",
            "resourceVersionMatch=bogus",
            "resourceVersionMatch=Exact",
            "resourceVersion=abc&resourceVersionMatch=NotOlderThan",
            "resourceVersion=-1",
            "resourceVersion=99999999999999999999",
            "fieldSelector=a%3D%3Db%3D%3Dc",
            "fieldSelector=metadata.name",
            "fieldSelector=no.such.field%3Dx",
            "labelSelector=!!",
            "labelSelector=a%20in%20(",
            "labelSelector=%ff%fe",
            "continue=garbage",
            "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiIn0",
            "limit=1&continue=%00",
            "allowWatchBookmarks=bogus&timeoutSeconds=1",
            "sendInitialEvents=true",
            "sendInitialEvents=bogus",
            "pretty=bogus",
            "includeObject=bogus",
            "watch=true&resourceVersion=abc",
            "watch=true&resourceVersionMatch=bogus",
            "watch=true&timeoutSeconds=abc",
        ] {
            let reply = http
                .send("GET", &with_query(&coll, q), None, Vec::new())
                .await;
            f.check(&format!("{} list ?{q}", r.what()), &reply);
        }
    }
    if r.can("get") {
        for q in [
            "resourceVersion=abc",
            "resourceVersion=-1",
            "resourceVersionMatch=bogus",
            "pretty=bogus",
        ] {
            let reply = http
                .send(
                    "GET",
                    &with_query(&format!("{coll}/nothing-here"), q),
                    None,
                    Vec::new(),
                )
                .await;
            f.check(&format!("{} get ?{q}", r.what()), &reply);
        }
        let reply = http
            .send("GET", &format!("{coll}/%ff%fe"), None, Vec::new())
            .await;
        f.check(&format!("{} get invalid UTF-8 name", r.what()), &reply);
    }
}

fn with_query(path: &str, query: &str) -> String {
    format!("{path}?{query}")
}
