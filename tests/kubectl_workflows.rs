//! kubectl workflows from a kube-apiserver user's point of view, each driven by real kubectl
//! against a real Capstan and checked against what kube-apiserver answers in the same situation:
//! `logs`, `exec`, `attach` and `cp` on pods no kubelet runs.

mod support;

use std::process::Output;

use serde_json::Value;
use support::capstan::Capstan;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Binds `pod` to `node` through `pods/binding`, as a scheduler would; `api_prefix` is `/api/v1`
/// or `/apis/<group>/<version>`, whose group-version the Binding is sent in.
fn bind(c: &Capstan, api_prefix: &str, pod: &str, node: &str) {
    let api_version = api_prefix
        .trim_start_matches("/apis/")
        .trim_start_matches("/api/");
    let binding = format!(
        r#"{{"apiVersion":"{api_version}","kind":"Binding","metadata":{{"name":"{pod}"}},"target":{{"name":"{node}"}}}}"#
    );
    let path = format!("{api_prefix}/namespaces/default/pods/{pod}/binding");
    c.kubectl_stdin_ok(&["create", "--raw", &path, "-f", "-"], &binding);
}

/// kube-apiserver locates the pod's node before it proxies to a kubelet: an unscheduled pod has
/// an empty log, and exec, attach and cp (which execs `tar`) are 400 "does not have a host
/// assigned"; a pod bound to a node without a Node object is 404 for that node. Before this,
/// Capstan answered every one of them 404 "the server could not find the requested resource".
#[test]
fn logs_exec_attach_and_cp_answer_as_kube_without_a_kubelet() {
    let c = Capstan::start();
    c.kubectl_ok(&["run", "web", "--image=nginx"]);

    let logs = c.kubectl_ok(&["logs", "web"]);
    assert_eq!(logs, "", "an unscheduled pod's log is empty");
    let logs = c.kubectl_ok(&["logs", "web", "--tail=5", "--timestamps", "-f"]);
    assert_eq!(logs, "");

    let no_host = "Error from server (BadRequest): pod web does not have a host assigned";
    for args in [
        &["exec", "web", "--", "ls"][..],
        &["attach", "web"],
        &["cp", "web:/etc/hosts", "/dev/null"],
    ] {
        let out = c.kubectl(args);
        assert!(!out.status.success(), "kubectl {args:?} succeeded");
        assert!(
            stderr(&out).contains(no_host),
            "kubectl {args:?}: {}",
            stderr(&out)
        );
    }

    // Option and container checks come first, with kube's codes and texts.
    let out = c.kubectl(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods/web/log?tailLines=-1&limitBytes=0",
    ]);
    let err = stderr(&out);
    assert!(
        err.contains("The PodLogOptions \"web\" is invalid"),
        "{err}"
    );
    assert!(
        err.contains("tailLines: Invalid value: -1: must be greater than or equal to 0"),
        "{err}"
    );
    let out = c.kubectl(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods/web/log?container=nope",
    ]);
    assert!(
        stderr(&out).contains("container nope is not valid for pod web"),
        "{}",
        stderr(&out)
    );
    let out = c.kubectl(&["logs", "missing"]);
    assert!(
        stderr(&out).contains("pods \"missing\" not found"),
        "{}",
        stderr(&out)
    );

    // Once bound, the node is looked up (and Capstan serves no Node objects); kube reports the
    // missing node under the request's resource.
    bind(&c, "/api/v1", "web", "node-1");
    for args in [&["logs", "web"][..], &["exec", "web", "--", "ls"]] {
        let out = c.kubectl(args);
        assert!(
            stderr(&out).contains("Error from server (NotFound): pods \"node-1\" not found"),
            "kubectl {args:?}: {}",
            stderr(&out)
        );
    }

    // Discovery lists the subresources with kube's kinds and verbs.
    let v1: Value = serde_json::from_str(&c.kubectl_ok(&["get", "--raw", "/api/v1"])).unwrap();
    let entry = |name: &str| {
        v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in discovery"))
    };
    assert_eq!(entry("pods/log")["kind"], "Pod");
    assert_eq!(entry("pods/log")["verbs"], serde_json::json!(["get"]));
    for (name, kind) in [
        ("pods/exec", "PodExecOptions"),
        ("pods/attach", "PodAttachOptions"),
        ("pods/portforward", "PodPortForwardOptions"),
    ] {
        assert_eq!(entry(name)["kind"], kind);
        assert_eq!(entry(name)["verbs"], serde_json::json!(["create", "get"]));
    }
}

/// capstan.dev pods have the same subresources, in both served versions.
#[test]
fn capstan_pods_logs_and_exec_answer_as_core_pods() {
    let c = Capstan::start();
    let pod = "apiVersion: capstan.dev/v1\nkind: Pod\nmetadata:\n  name: cp\nspec:\n  containers:\n  - name: main\n    image: nginx\n";
    c.kubectl_stdin_ok(&["create", "-f", "-"], pod);
    for version in ["v1", "v1beta1"] {
        let base = format!("/apis/capstan.dev/{version}/namespaces/default/pods");
        let log = c.kubectl_ok(&["get", "--raw", &format!("{base}/cp/log")]);
        assert_eq!(log, "");
        let out = c.kubectl(&["get", "--raw", &format!("{base}/gone/log")]);
        assert!(
            stderr(&out).contains("pods.capstan.dev \"gone\" not found"),
            "{}",
            stderr(&out)
        );
        let out = c.kubectl(&["get", "--raw", &format!("{base}/cp/exec?command=ls")]);
        assert!(
            stderr(&out).contains("pod cp does not have a host assigned"),
            "{}",
            stderr(&out)
        );
    }
    bind(&c, "/apis/capstan.dev/v1", "cp", "node-2");
    let out = c.kubectl(&[
        "get",
        "--raw",
        "/apis/capstan.dev/v1/namespaces/default/pods/cp/log",
    ]);
    assert!(
        stderr(&out).contains("pods.capstan.dev \"node-2\" not found"),
        "{}",
        stderr(&out)
    );
}

/// kube keeps what its Go types keep: a write is decoded into the Go struct and encoded again,
/// so empty `omitempty` fields disappear and zero structs appear. Before Capstan did the same,
/// `kubectl replace` of a manifest without `resources` was refused for a pod `kubectl run`
/// created (its stored `resources: {}` differed from the missing one), and `kubectl diff` of an
/// unchanged manifest showed an `annotations: {}` that kube never stores.
#[test]
fn writes_keep_the_shape_of_kubes_go_types() {
    let c = Capstan::start();
    c.kubectl_ok(&["run", "web", "--image=nginx:1.27", "--labels=app=web"]);
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\n\
                    spec:\n  containers:\n  - name: web\n    image: nginx:1.28\n";
    let out = c.kubectl_stdin_ok(&["replace", "-f", "-"], manifest);
    assert!(out.contains("pod/web replaced"), "{out}");
    let out = c.kubectl_stdin(&["diff", "-f", "-"], manifest);
    assert!(
        out.status.success(),
        "an unchanged manifest diffs clean: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );

    let empty = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: empty\n  annotations: {}\n  labels: {}\n\
                 spec:\n  nodeSelector: {}\n  volumes: []\n  hostNetwork: false\n  containers:\n  - name: c\n    \
                 image: nginx\n    args: []\n    env: []\n";
    let pod: Value =
        serde_json::from_str(&c.kubectl_stdin_ok(&["create", "-f", "-", "-o", "json"], empty))
            .unwrap();
    let meta = pod["metadata"].as_object().unwrap();
    assert!(
        !meta.contains_key("annotations") && !meta.contains_key("labels"),
        "{meta:?}"
    );
    let spec = pod["spec"].as_object().unwrap();
    for gone in ["nodeSelector", "volumes", "hostNetwork"] {
        assert!(!spec.contains_key(gone), "{gone} kept: {spec:?}");
    }
    assert_eq!(
        pod["spec"]["containers"][0],
        serde_json::json!({
            "name": "c", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
        })
    );

    let event = "apiVersion: v1\nkind: Event\nmetadata:\n  name: e\ninvolvedObject:\n  kind: Pod\n  \
                 name: web\nreason: Test\nmessage: hello\n";
    let event: Value =
        serde_json::from_str(&c.kubectl_stdin_ok(&["create", "-f", "-", "-o", "json"], event))
            .unwrap();
    for (field, zero) in [
        ("source", serde_json::json!({})),
        ("eventTime", Value::Null),
        ("firstTimestamp", Value::Null),
        ("reportingComponent", serde_json::json!("")),
        ("reportingInstance", serde_json::json!("")),
    ] {
        assert_eq!(event.get(field), Some(&zero), "{field}: {event}");
    }
}

/// `kubectl delete -f` of a manifest holding a namespace and objects in it deletes the namespace
/// first and then each object. kube's namespace controller leaves a terminating namespace alone
/// for 5 s, so kubectl finds every object and reports it deleted; Capstan's finalizer used to
/// empty the namespace at once, and kubectl failed with NotFound for the objects after it.
#[test]
fn delete_f_of_a_namespace_with_its_objects_deletes_each() {
    let c = Capstan::start();
    let manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n---\n\
                    apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\n\
                    data:\n  a: \"1\"\n---\n\
                    apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: app\n\
                    stringData:\n  password: hunter2\n---\n\
                    apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: app\n\
                    spec:\n  containers:\n  - name: web\n    image: nginx\n";
    c.kubectl_stdin_ok(&["apply", "-f", "-"], manifest);
    let out = c.kubectl_stdin_ok(&["delete", "-f", "-", "--wait=false"], manifest);
    for deleted in [
        "namespace \"app\" deleted",
        "configmap \"settings\" deleted",
        "secret \"creds\" deleted",
        "pod \"web\" deleted",
    ] {
        assert!(out.contains(deleted), "{out}");
    }
    c.kubectl_ok(&["wait", "--for=delete", "namespace/app", "--timeout=60s"]);
}

/// A `kind: List` file (what `kubectl get -o yaml` writes) is validated by kubectl itself against
/// `/openapi/v2` in protobuf, whatever the server's field validation: before Capstan served that
/// form, `kubectl create -f` of such a file failed with "the server was unable to respond with a
/// content type that the client supports".
#[test]
fn list_files_are_validated_with_the_protobuf_openapi_v2() {
    let c = Capstan::start();
    c.kubectl_ok(&["create", "configmap", "one", "--from-literal=a=1"]);
    c.kubectl_ok(&["create", "configmap", "two", "--from-literal=b=2"]);
    let list = c.kubectl_ok(&["get", "configmaps", "one", "two", "-o", "yaml"]);
    assert!(list.contains("kind: List"), "{list}");
    c.kubectl_ok(&["delete", "configmaps", "one", "two"]);
    // Without server-set fields, so that create and apply take it as new.
    let list: String = list
        .lines()
        .filter(|l| {
            !["creationTimestamp:", "resourceVersion:", "uid:"]
                .iter()
                .any(|f| l.trim_start().starts_with(f))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let out = c.kubectl_stdin_ok(&["create", "-f", "-"], &list);
    assert!(
        out.contains("configmap/one created") && out.contains("configmap/two created"),
        "{out}"
    );
    let out = c.kubectl_stdin_ok(&["apply", "-f", "-"], &list);
    assert!(out.contains("configmap/one configured"), "{out}");

    let bad = list.replacen("  data:", "  bogus: 1\n  data:", 1);
    let out = c.kubectl_stdin(&["apply", "-f", "-"], &bad);
    assert!(
        stderr(&out).contains("unknown field \"bogus\" in io.k8s.api.core.v1.ConfigMap"),
        "{}",
        stderr(&out)
    );

    let explained = c.kubectl_ok(&[
        "explain",
        "pods.spec.containers.ports",
        "--output=plaintext-openapiv2",
    ]);
    assert!(
        explained.contains("containerPort\t<integer> -required-"),
        "{explained}"
    );

    // Required fields are kube's, not the crates': a selector's `name` is documented as
    // effectively required but is not, so kubectl neither marks it nor demands it in a List.
    let explained = c.kubectl_ok(&[
        "explain",
        "pod.spec.containers.env.valueFrom.configMapKeyRef",
    ]);
    assert!(explained.contains("  name\t<string>\n"), "{explained}");
    assert!(
        explained.contains("  key\t<string> -required-"),
        "{explained}"
    );
    let pod = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n  \
               spec:\n    containers:\n    - name: c\n      image: nginx\n      env:\n      - name: A\n        \
               valueFrom:\n          configMapKeyRef:\n            key: a\n            optional: true\n";
    // kubectl lets it through (no "missing required field"); the server's validation then
    // refuses the empty name, as kube's does.
    let out = c.kubectl_stdin(&["create", "-f", "-", "--dry-run=server"], pod);
    assert!(
        stderr(&out).contains("The Pod \"p\" is invalid: spec.containers[0].env[0].valueFrom.configMapKeyRef.name: Invalid value: \"\""),
        "{}",
        stderr(&out)
    );
}

/// A JSON patch that does not apply (a `test` that fails, a path that is missing) gets kube's
/// generic 422: kubectl prints what it prints against kube-apiserver, which does not pass the
/// patch library's reason on.
#[test]
fn a_json_patch_that_does_not_apply_is_kubes_generic_422() {
    let c = Capstan::start();
    c.kubectl_ok(&["create", "configmap", "jp", "--from-literal=a=1"]);
    for patch in [
        r#"[{"op":"remove","path":"/data/nope"}]"#,
        r#"[{"op":"test","path":"/data/a","value":"2"}]"#,
    ] {
        let out = c.kubectl(&["patch", "configmap", "jp", "--type=json", "-p", patch]);
        assert_eq!(
            stderr(&out).trim(),
            "The request is invalid: the server rejected our request due to an error in our request",
            "{patch}"
        );
    }
}

/// `kubectl explain` prints what kube-apiserver serves: the `enum` of a field and its served
/// description (listing each value's meaning), which Kubernetes' published spec files leave
/// out; before, Capstan's explain lacked both.
#[test]
fn explain_shows_enums_as_kube_serves_them() {
    let c = Capstan::start();
    let out = c.kubectl_ok(&["explain", "pods.spec.restartPolicy"]);
    assert!(
        out.contains("ENUM:\n    Always\n    Never\n    OnFailure"),
        "{out}"
    );
    assert!(out.contains("Possible enum values:"), "{out}");
    let out = c.kubectl_ok(&["explain", "pods.spec"]);
    assert!(
        out.contains("enum: ClusterFirst, ClusterFirstWithHostNet, Default, None"),
        "{out}"
    );
    let out = c.kubectl_ok(&["explain", "namespaces.status"]);
    assert!(out.contains("enum: Active, Terminating"), "{out}");
}

/// `kubectl edit` with an invalid change re-opens the file headed by the server's errors; each
/// appears once, as against kube-apiserver (an update used to report a metadata error twice).
#[test]
fn an_invalid_edit_reopens_with_each_error_once() {
    let c = Capstan::start();
    c.kubectl_ok(&["create", "configmap", "edited", "--from-literal=a=1"]);
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let reopened = dir.path().join("reopened.yaml");
    // First round: add an invalid label. Second round: keep what kubectl re-opened, unchanged
    // (kubectl then gives up: no valid changes).
    let script = dir.path().join("editor.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ -e {count} ]; then cp \"$1\" {reopened}; exit 0; fi\ntouch {count}\n\
             sed -i 's/^metadata:$/metadata:\\n  labels:\\n    \"bad label\": x/' \"$1\"\n",
            count = count.display(),
            reopened = reopened.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &script.display().to_string()])
        .status()
        .unwrap();
    let out = c.kubectl_env(
        &["edit", "configmap", "edited"],
        &[("EDITOR", &script.display().to_string())],
    );
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&reopened).unwrap();
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("# * ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].starts_with("# * metadata.labels: Invalid value: \"bad label\""),
        "{text}"
    );
}

/// `kubectl describe` reads a pod, and the events about it through core/v1's field selectors
/// (`involvedObject.*`), as against kube-apiserver; a namespace describes too.
#[test]
fn describe_shows_a_pod_with_its_events_and_a_namespace() {
    let c = Capstan::start();
    c.kubectl_ok(&["run", "web", "--image=nginx:1.27", "--labels=app=web"]);
    let pod: Value = serde_json::from_str(&c.kubectl_ok(&["get", "pod", "web", "-o", "json"]))
        .expect("pod json");
    let uid = pod["metadata"]["uid"].as_str().expect("uid");
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.scheduled", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web",
                           "namespace": "default", "uid": uid},
        "reason": "Scheduled", "message": "Successfully assigned default/web to node-a",
        "type": "Normal", "source": {"component": "default-scheduler"},
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1
    });
    c.kubectl_stdin_ok(&["create", "-f", "-"], &event.to_string());

    let out = c.kubectl_ok(&["describe", "pod", "web"]);
    // kubectl aligns columns to the widest key: compare lines with their spacing collapsed.
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        "Name: web",
        "Namespace: default",
        "Labels: app=web",
        "Status: Pending",
        "Image: nginx:1.27",
        "QoS Class: BestEffort",
        "Events:",
        "Type Reason Age From Message",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
    let row = out
        .lines()
        .find(|l| l.contains("Successfully assigned"))
        .unwrap_or_default();
    for cell in ["Normal", "Scheduled", "default-scheduler"] {
        assert!(row.contains(cell), "{row}");
    }

    let ns = c.kubectl_ok(&["describe", "namespace", "default"]);
    assert!(
        ns.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Status:", "Active"]),
        "{ns}"
    );
    assert!(ns.contains("kubernetes.io/metadata.name=default"), "{ns}");
}
