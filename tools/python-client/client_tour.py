"""A short tour of Capstan with the official Kubernetes Python client (tests/clients_python.rs).

Usage: python client_tour.py <kubeconfig>

Creates a namespace and pods, lists them with a label selector, watches with
``watch.Watch().stream(...)`` (which asks for ``watch=true`` and reads the events line by line)
while another thread creates and deletes a pod, then deletes everything. Checks as it goes and
prints one JSON object with what it saw; exits non-zero on the first surprise.
"""

import json
import sys
import threading
import time

from kubernetes import client, config, watch

NAMESPACE = "py-tour"


def pod(name, app):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": app}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="nginx:1.27")]),
    )


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    seen = {}

    ns = v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    seen["namespace_phase"] = ns.status.phase

    created = v1.create_namespaced_pod(NAMESPACE, pod("web", "web"))
    v1.create_namespaced_pod(NAMESPACE, pod("db", "db"))
    # Defaults the server fills in, read back through the client's models.
    seen["created"] = {
        "phase": created.status.phase,
        "restart_policy": created.spec.restart_policy,
        "image_pull_policy": created.spec.containers[0].image_pull_policy,
    }

    listed = v1.list_namespaced_pod(NAMESPACE, label_selector="app=web")
    seen["listed"] = [p.metadata.name for p in listed.items]
    expect(seen["listed"] == ["web"], f"label selector list: {seen['listed']}")
    set_based = v1.list_namespaced_pod(NAMESPACE, label_selector="app in (web,db)")
    seen["listed_set_based"] = sorted(p.metadata.name for p in set_based.items)

    # Watch from the list's resourceVersion while another thread adds and removes pods.
    def churn():
        time.sleep(1)
        v1.create_namespaced_pod(NAMESPACE, pod("db-2", "db"))
        v1.create_namespaced_pod(NAMESPACE, pod("web-2", "web"))
        v1.delete_namespaced_pod("web-2", NAMESPACE)

    events = []
    churner = threading.Thread(target=churn)
    churner.start()
    w = watch.Watch()
    for event in w.stream(
        v1.list_namespaced_pod,
        NAMESPACE,
        label_selector="app=web",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=30,
    ):
        events.append([event["type"], event["object"].metadata.name])
        if event["type"] == "DELETED":
            w.stop()
    churner.join()
    seen["watched"] = events
    expect(events and events[0] == ["ADDED", "web-2"], f"first event: {events}")
    expect(events[-1] == ["DELETED", "web-2"], f"last event: {events}")
    expect(all(name == "web-2" for _, name in events), f"selector let through: {events}")

    # Without a resourceVersion the watch starts with the current state.
    initial = []
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_pod, NAMESPACE, label_selector="app=web", timeout_seconds=5):
        initial.append([event["type"], event["object"].metadata.name])
        w.stop()
    seen["initial"] = initial

    v1.delete_namespaced_pod("web", NAMESPACE)
    try:
        v1.read_namespaced_pod("web", NAMESPACE)
        raise AssertionError("pod web still readable after delete")
    except client.exceptions.ApiException as err:
        body = json.loads(err.body)
        seen["read_after_delete"] = {
            "status": err.status,
            "reason": body.get("reason"),
            "message": body.get("message"),
        }

    v1.delete_namespace(NAMESPACE)
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
