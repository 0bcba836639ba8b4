//! Issue "kubectl-complete" acceptance for the write paths, driven by real kubectl against a real
//! Capstan: client-side and server-side apply (conflicts, `--force-conflicts`, managedFields),
//! `explain`, `create` with kubectl's default (strict) validation, `--validate=strict|warn`,
//! `--dry-run=server` on every verb, `edit` with a scripted editor, `patch` without `--type`
//! (strategic merge), `label` and `annotate`.

mod support;

use serde_json::Value;
use support::capstan::Capstan;

/// A pod manifest in `api_version` named `name` running `image`, labelled `tier`.
fn pod_yaml(api_version: &str, name: &str, image: &str, tier: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    tier: {tier}\n\
         spec:\n  containers:\n  - name: main\n    image: {image}\n"
    )
}

fn get_json(c: &Capstan, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&c.kubectl_ok(&all)).expect("kubectl -o json")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The managers whose managedFields entry owns `spec.containers[name=main].image`.
fn image_owners(pod: &Value) -> Vec<String> {
    pod["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter(|e| {
            e["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
                .get("f:image")
                .is_some()
        })
        .map(|e| e["manager"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `kubectl apply -f` twice: created, then configured, keeping the last-applied annotation.
fn client_side_apply_twice(c: &Capstan, api_version: &str, resource: &str) {
    let first = pod_yaml(api_version, "applied", "nginx:1.27", "web");
    let out = c.kubectl_stdin_ok(&["apply", "-f", "-"], &first);
    assert!(out.contains("created"), "{out}");
    let second = pod_yaml(api_version, "applied", "nginx:1.28", "front");
    let out = c.kubectl_stdin_ok(&["apply", "-f", "-"], &second);
    assert!(out.contains("configured"), "{out}");
    let out = c.kubectl_stdin_ok(&["apply", "-f", "-"], &second);
    assert!(out.contains("unchanged"), "{out}");

    let pod = get_json(c, &[resource, "applied"]);
    assert_eq!(pod["apiVersion"], api_version);
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(pod["metadata"]["labels"]["tier"], "front");
    let last: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied annotation"),
    )
    .expect("last-applied JSON");
    assert_eq!(last["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(image_owners(&pod), ["kubectl-client-side-apply"]);
    // Fields set by defaulting belong to the writer, as in kube.
    let main = &pod["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"];
    assert!(main.get("f:imagePullPolicy").is_some(), "{main}");
    c.kubectl_ok(&["delete", resource, "applied"]);
}

#[test]
fn client_side_apply_for_core_and_capstan_pods() {
    let c = Capstan::start();
    client_side_apply_twice(&c, "v1", "pods");
    client_side_apply_twice(&c, "capstan.dev/v1", "pods.capstan.dev");
}

#[test]
fn server_side_apply_conflicts_and_forced_takeover() {
    let c = Capstan::start();
    for (api_version, resource) in [("v1", "pods"), ("capstan.dev/v1", "pods.capstan.dev")] {
        // Status is reset on the main resource, so nobody owns what the manifest says of it.
        let first = format!(
            "{}status:\n  phase: Running\n",
            pod_yaml(api_version, "ssa", "nginx:1.27", "web")
        );
        let out = c.kubectl_stdin_ok(&["apply", "--server-side", "-f", "-"], &first);
        assert!(out.contains("serverside-applied"), "{out}");
        let pod = get_json(&c, &[resource, "ssa"]);
        assert_eq!(image_owners(&pod), ["kubectl"]);
        assert_eq!(pod["status"]["phase"], "Pending");
        let entry = &pod["metadata"]["managedFields"][0];
        assert_eq!(entry["operation"], "Apply");
        assert!(entry["fieldsV1"].get("f:status").is_none(), "{entry}");

        let other = pod_yaml(api_version, "ssa", "nginx:1.28", "web");
        let args = ["apply", "--server-side", "--field-manager=other", "-f", "-"];
        let out = c.kubectl_stdin(&args, &other);
        assert!(!out.status.success(), "a second manager must conflict");
        let err = stderr(&out);
        assert!(
            err.contains("Apply failed with 1 conflict: conflict with \"kubectl\"")
                && err.contains(".spec.containers[name=\"main\"].image"),
            "{err}"
        );
        let pod = get_json(&c, &[resource, "ssa"]);
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");

        let mut forced = args.to_vec();
        forced.insert(2, "--force-conflicts");
        c.kubectl_stdin_ok(&forced, &other);
        let pod = get_json(&c, &[resource, "ssa"]);
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
        assert_eq!(image_owners(&pod), ["other"]);
        c.kubectl_ok(&["delete", resource, "ssa"]);

        // Moving from client-side to server-side apply takes the fields over without conflicts.
        c.kubectl_stdin_ok(
            &["apply", "-f", "-"],
            &pod_yaml(api_version, "upgraded", "nginx:1.27", "web"),
        );
        c.kubectl_stdin_ok(
            &["apply", "--server-side", "-f", "-"],
            &pod_yaml(api_version, "upgraded", "nginx:1.28", "web"),
        );
        let pod = get_json(&c, &[resource, "upgraded"]);
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
        assert_eq!(image_owners(&pod), ["kubectl"]);
        c.kubectl_ok(&["delete", resource, "upgraded"]);
    }
}

#[test]
fn explain_and_validation_read_the_openapi_documents() {
    let c = Capstan::start();
    let out = c.kubectl_ok(&["explain", "pod.spec.containers"]);
    assert!(out.contains("FIELD: containers <[]Container>"), "{out}");
    assert!(out.contains("image\t<string>"), "{out}");
    let out = c.kubectl_ok(&["explain", "pods", "--api-version=capstan.dev/v1"]);
    assert!(out.contains("GROUP:      capstan.dev"), "{out}");
    assert!(
        out.contains("Pod is a collection of containers that can run on a host"),
        "{out}"
    );
    let index: Value = serde_json::from_str(&c.kubectl_ok(&["get", "--raw", "/"])).expect("index");
    let paths: Vec<&str> = index["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        paths.contains(&"/openapi/v2") && paths.contains(&"/openapi/v3"),
        "{paths:?}"
    );

    // kubectl's default validation is strict, on the server.
    c.kubectl_stdin_ok(
        &["create", "-f", "-"],
        &pod_yaml("v1", "valid", "nginx:1.27", "web"),
    );
    let unknown = format!(
        "{}    imagePullPolicyy: Always\n",
        pod_yaml("v1", "typo", "nginx:1.27", "web")
    );
    let out = c.kubectl_stdin(&["create", "--validate=strict", "-f", "-"], &unknown);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "strict decoding error: unknown field \"spec.containers[0].imagePullPolicyy\""
        ),
        "{}",
        stderr(&out)
    );
    let out = c.kubectl_stdin(&["create", "-f", "-"], &unknown);
    assert!(!out.status.success(), "the default is strict too");
    assert!(c.kubectl(&["get", "pod", "typo"]).status.code() == Some(1));

    let out = c.kubectl_stdin(&["create", "--validate=warn", "-f", "-"], &unknown);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: unknown field \"spec.containers[0].imagePullPolicyy\""),
        "{}",
        stderr(&out)
    );
    c.kubectl_ok(&["get", "pod", "typo"]);
}

#[test]
fn server_dry_run_stores_nothing() {
    let c = Capstan::start();
    let manifest = pod_yaml("v1", "dry", "nginx:1.27", "web");
    let out = c.kubectl_stdin_ok(
        &[
            "create",
            "--dry-run=server",
            "-f",
            "-",
            "-o",
            "jsonpath={.spec.restartPolicy} {.status.phase}",
        ],
        &manifest,
    );
    assert_eq!(out, "Always Pending", "defaulted and prepared, not stored");
    c.kubectl_stdin_ok(&["apply", "--dry-run=server", "-f", "-"], &manifest);
    c.kubectl_stdin_ok(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        &manifest,
    );
    let out = c.kubectl(&["get", "pod", "dry"]);
    assert!(!out.status.success(), "dry runs created the pod");

    c.kubectl_stdin_ok(&["create", "-f", "-"], &manifest);
    let rv = c.kubectl_ok(&[
        "get",
        "pod",
        "dry",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let out = c.kubectl_ok(&[
        "patch",
        "pod",
        "dry",
        "--dry-run=server",
        "-p",
        r#"{"metadata":{"labels":{"tier":"patched"}}}"#,
        "-o",
        "jsonpath={.metadata.labels.tier}",
    ]);
    assert_eq!(out, "patched");
    c.kubectl_ok(&["delete", "pod", "dry", "--dry-run=server"]);
    c.kubectl_stdin_ok(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "-f",
            "-",
        ],
        &pod_yaml("v1", "dry", "nginx:1.28", "web"),
    );
    let pod = get_json(&c, &["pod", "dry"]);
    assert_eq!(pod["metadata"]["resourceVersion"], rv.as_str());
    assert_eq!(pod["metadata"]["labels"]["tier"], "web");
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
}

#[tokio::test]
async fn dry_run_deletecollection_deletes_nothing() {
    let c = Capstan::start();
    c.kubectl_stdin_ok(
        &["create", "-f", "-"],
        &pod_yaml("v1", "kept", "nginx:1.27", "web"),
    );
    let (code, body) = c
        .raw(
            "DELETE",
            "/api/v1/namespaces/default/pods?dryRun=All&labelSelector=tier%3Dweb",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["items"][0]["metadata"]["name"], "kept");
    c.kubectl_ok(&["get", "pod", "kept"]);
    let (code, body) = c
        .raw(
            "DELETE",
            "/api/v1/namespaces/default/pods?dryRun=Yes",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(code, 422, "{body}");
}

#[test]
fn edit_patch_label_and_annotate() {
    let c = Capstan::start();
    for (api_version, resource) in [("v1", "pod"), ("capstan.dev/v1", "pods.capstan.dev")] {
        c.kubectl_stdin_ok(
            &["create", "-f", "-"],
            &pod_yaml(api_version, "edited", "nginx:1.27", "web"),
        );
        c.kubectl_env_ok(
            &["edit", resource, "edited"],
            &[("EDITOR", "sed -i s/nginx:1.27/nginx:1.28/")],
        );
        let image = |c: &Capstan| {
            c.kubectl_ok(&[
                "get",
                resource,
                "edited",
                "-o",
                "jsonpath={.spec.containers[0].image}",
            ])
        };
        assert_eq!(image(&c), "nginx:1.28");
        assert_eq!(
            image_owners(&get_json(&c, &[resource, "edited"])),
            ["kubectl-edit"]
        );

        // No --type: a strategic merge patch, merging containers by name.
        c.kubectl_ok(&[
            "patch",
            resource,
            "edited",
            "-p",
            r#"{"spec":{"containers":[{"name":"main","image":"nginx:1.29"}]}}"#,
        ]);
        assert_eq!(image(&c), "nginx:1.29");
        assert_eq!(
            image_owners(&get_json(&c, &[resource, "edited"])),
            ["kubectl-patch"],
            "the patch took the image over, leaving kubectl-edit nothing"
        );
        let pod = get_json(&c, &[resource, "edited"]);
        assert_eq!(pod["spec"]["containers"].as_array().map(Vec::len), Some(1));

        c.kubectl_ok(&["label", resource, "edited", "stage=prod"]);
        c.kubectl_ok(&["annotate", resource, "edited", "note=hello"]);
        let pod = get_json(&c, &[resource, "edited"]);
        assert_eq!(pod["metadata"]["labels"]["stage"], "prod");
        assert_eq!(pod["metadata"]["labels"]["tier"], "web");
        assert_eq!(pod["metadata"]["annotations"]["note"], "hello");
        let managers: Vec<&str> = pod["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        for manager in [
            "kubectl-create",
            "kubectl-patch",
            "kubectl-label",
            "kubectl-annotate",
        ] {
            assert!(managers.contains(&manager), "{managers:?} lacks {manager}");
        }
        c.kubectl_ok(&["delete", resource, "edited"]);
    }
}
