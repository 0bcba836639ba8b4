//! The watch cache in a real server: on by default (a `/readyz` check, watches start inside its
//! window), off with `--watch-cache=false` (watches replay storage history).

mod support;

use support::capstan::Capstan;

/// The raw events of a one-second watch of default's configmaps from `rv`.
fn watch_from(c: &Capstan, rv: &str) -> String {
    c.kubectl_ok(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"
        ),
    ])
}

#[test]
fn watches_come_from_the_cache_window_unless_the_cache_is_off() {
    let mut c = Capstan::start();
    c.kubectl_ok(&["create", "configmap", "before", "-n", "default"]);
    // After a restart the cache holds the objects as of then, and no history before it: an
    // older watch is outside its window, a 410 as kube-apiserver's watch cache answers.
    c.restart();
    let old = watch_from(&c, "1");
    assert!(
        old.contains("\"type\":\"ERROR\"")
            && old.contains("\"code\":410")
            && old.contains("too old resource version: 1 ("),
        "{old}"
    );
    let readyz = c.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(readyz.contains("[+]watch-cache ok"), "{readyz}");
    // Lists and watches from the current state are served from it.
    let list = c.kubectl_ok(&["get", "configmaps", "-n", "default", "-o", "name"]);
    assert_eq!(list.trim(), "configmap/before");
    let rv = c.kubectl_ok(&[
        "get",
        "configmap",
        "before",
        "-n",
        "default",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    c.kubectl_ok(&["create", "configmap", "after", "-n", "default"]);
    let new = watch_from(&c, &rv);
    assert!(
        new.contains("\"name\":\"after\"") && !new.contains("\"name\":\"before\""),
        "{new}"
    );

    // Without the cache, the same watch replays storage history.
    c.restart_with(&["--watch-cache=false"]);
    let replayed = watch_from(&c, "1");
    assert!(
        replayed.contains("\"name\":\"before\"") && !replayed.contains("\"code\":410"),
        "{replayed}"
    );
    let readyz = c.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(!readyz.contains("watch-cache"), "{readyz}");
}
