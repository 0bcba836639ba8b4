//! The pod Table `kubectl get pods` prints, after kube's `printPod`
//! (pkg/printers/internalversion/printers.go): the same columns, and cells computed the same way
//! (status reason from phase, init and regular container states, deletion; `ready/total`;
//! restarts with the time of the last one; human ages; `<none>` for missing wide values).
//!
//! The server always returns every column; kubectl shows the priority-1 ones with `-o wide`.

use k8s_openapi::api::core::v1::{Container, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::PodObject;
use crate::api::table::{TableColumnDefinition, human_duration};
use crate::registry::core::{age_column, name_column};

/// The nine pod columns, with kube's types, priorities and descriptions.
pub fn pod_columns() -> Vec<TableColumnDefinition> {
    vec![
        name_column(),
        TableColumnDefinition::new(
            "Ready",
            "string",
            "",
            0,
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        TableColumnDefinition::new(
            "Status",
            "string",
            "",
            0,
            "The aggregate status of the containers in this pod.",
        ),
        TableColumnDefinition::new(
            "Restarts",
            "string",
            "",
            0,
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        age_column(),
        TableColumnDefinition::new(
            "IP",
            "string",
            "",
            1,
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        ),
        TableColumnDefinition::new(
            "Node",
            "string",
            "",
            1,
            "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
        ),
        TableColumnDefinition::new(
            "Nominated Node",
            "string",
            "",
            1,
            "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
        ),
        TableColumnDefinition::new(
            "Readiness Gates",
            "string",
            "",
            1,
            "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
        ),
    ]
}

/// The cells of one pod's row, ages measured from `now`.
pub fn pod_row<T: PodObject>(pod: &T, now: jiff::Timestamp) -> Vec<Value> {
    let meta = pod.meta();
    let empty_spec = PodSpec::default();
    let empty_status = PodStatus::default();
    let spec = pod.pod_spec().unwrap_or(&empty_spec);
    let status = pod.pod_status().unwrap_or(&empty_status);
    let summary = summarize(spec, status, meta.deletion_timestamp.is_some());
    let restarts = match summary.last_restart {
        Some(at) if summary.restarts != 0 => {
            format!(
                "{} ({} ago)",
                summary.restarts,
                human_duration_since(at, now)
            )
        }
        _ => summary.restarts.to_string(),
    };
    let age = meta.creation_timestamp.as_ref().map_or_else(
        || "<unknown>".to_string(),
        |t| human_duration_since(t.0, now),
    );
    let pod_ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.as_str())
        .filter(|ip| !ip.is_empty());
    vec![
        json!(meta.name.as_deref().unwrap_or("")),
        json!(format!("{}/{}", summary.ready, summary.total)),
        json!(summary.reason),
        json!(restarts),
        json!(age),
        json!(none_if_empty(pod_ip)),
        json!(none_if_empty(spec.node_name.as_deref())),
        json!(none_if_empty(status.nominated_node_name.as_deref())),
        json!(readiness_gates(spec, status)),
    ]
}

fn none_if_empty(value: Option<&str>) -> &str {
    value.filter(|v| !v.is_empty()).unwrap_or("<none>")
}

/// What `printPod` derives from the container statuses.
struct Summary {
    ready: usize,
    total: usize,
    reason: String,
    restarts: i64,
    last_restart: Option<jiff::Timestamp>,
}

fn is_sidecar(c: Option<&Container>) -> bool {
    c.is_some_and(|c| c.restart_policy.as_deref() == Some("Always"))
}

fn later(current: Option<jiff::Timestamp>, t: Option<&Time>) -> Option<jiff::Timestamp> {
    match (current, t.map(|t| t.0)) {
        (Some(a), Some(b)) if b > a => Some(b),
        (None, b) => b,
        (a, _) => a,
    }
}

fn summarize(spec: &PodSpec, status: &PodStatus, deleting: bool) -> Summary {
    let init_specs = spec.init_containers.as_deref().unwrap_or(&[]);
    let phase = status.phase.as_deref().unwrap_or("");
    let mut s = Summary {
        ready: 0,
        total: spec.containers.len() + init_specs.iter().filter(|c| is_sidecar(Some(c))).count(),
        reason: status
            .reason
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| phase.to_string()),
        restarts: 0,
        last_restart: None,
    };
    let conditions = status.conditions.as_deref().unwrap_or(&[]);
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        s.reason = "SchedulingGated".into();
    }

    let mut sidecar_restarts = 0;
    let mut sidecar_last_restart = None;
    let mut initializing = false;
    for (i, c) in status.init_container_statuses.iter().flatten().enumerate() {
        let sidecar = is_sidecar(init_specs.iter().find(|ic| ic.name == c.name));
        let last_terminated = c.last_state.as_ref().and_then(|st| st.terminated.as_ref());
        s.restarts += i64::from(c.restart_count);
        if let Some(t) = last_terminated {
            s.last_restart = later(s.last_restart, t.finished_at.as_ref());
        }
        if sidecar {
            sidecar_restarts += i64::from(c.restart_count);
            if let Some(t) = last_terminated {
                sidecar_last_restart = later(sidecar_last_restart, t.finished_at.as_ref());
            }
        }
        let state = c.state.as_ref();
        let terminated = state.and_then(|st| st.terminated.as_ref());
        let waiting_reason = state
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty());
        match (terminated, waiting_reason) {
            (Some(t), _) if t.exit_code == 0 => continue,
            _ if sidecar && c.started == Some(true) => {
                if c.ready {
                    s.ready += 1;
                }
                continue;
            }
            (Some(t), _) => {
                s.reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("Init:{r}"),
                    None if t.signal.unwrap_or(0) != 0 => {
                        format!("Init:Signal:{}", t.signal.unwrap_or(0))
                    }
                    None => format!("Init:ExitCode:{}", t.exit_code),
                };
            }
            (None, Some(r)) if r != "PodInitializing" => s.reason = format!("Init:{r}"),
            _ => s.reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    let initialized = conditions
        .iter()
        .any(|c| c.type_ == "Initialized" && c.status == "True");
    if !initializing || initialized {
        s.restarts = sidecar_restarts;
        s.last_restart = sidecar_last_restart;
        let mut has_running = false;
        for c in status.container_statuses.iter().flatten().rev() {
            s.restarts += i64::from(c.restart_count);
            if let Some(t) = c.last_state.as_ref().and_then(|st| st.terminated.as_ref()) {
                s.last_restart = later(s.last_restart, t.finished_at.as_ref());
            }
            let state = c.state.as_ref();
            let waiting = state
                .and_then(|st| st.waiting.as_ref())
                .and_then(|w| w.reason.as_deref());
            let terminated = state.and_then(|st| st.terminated.as_ref());
            if let Some(r) = waiting.filter(|r| !r.is_empty()) {
                s.reason = r.to_string();
            } else if let Some(t) = terminated {
                s.reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None if t.signal.unwrap_or(0) != 0 => {
                        format!("Signal:{}", t.signal.unwrap_or(0))
                    }
                    None => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && state.is_some_and(|st| st.running.is_some()) {
                has_running = true;
                s.ready += 1;
            }
        }
        if s.reason == "Completed" && has_running {
            let ready = conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            s.reason = if ready { "Running" } else { "NotReady" }.into();
        }
    }

    if deleting && status.reason.as_deref() == Some("NodeLost") {
        s.reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        s.reason = "Terminating".into();
    }
    s
}

fn readiness_gates(spec: &PodSpec, status: &PodStatus) -> String {
    let gates = spec.readiness_gates.as_deref().unwrap_or(&[]);
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = status.conditions.as_deref().unwrap_or(&[]);
    let satisfied = gates
        .iter()
        .filter(|g| {
            conditions
                .iter()
                .find(|c| c.type_ == g.condition_type)
                .is_some_and(|c| c.status == "True")
        })
        .count();
    format!("{satisfied}/{}", gates.len())
}

/// kube's `translateTimestampSince`: the human duration from `then` to `now`.
fn human_duration_since(then: jiff::Timestamp, now: jiff::Timestamp) -> String {
    human_duration(now.duration_since(then))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn row(pod: Value) -> Vec<Value> {
        let pod: Pod = serde_json::from_value(pod).unwrap();
        pod_row(&pod, jiff::Timestamp::from_second(NOW).unwrap())
    }

    fn at(seconds_ago: i64) -> String {
        jiff::Timestamp::from_second(NOW - seconds_ago)
            .unwrap()
            .to_string()
    }

    #[test]
    fn columns_match_kube() {
        let cols = pod_columns();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        let priorities: Vec<i32> = cols.iter().map(|c| c.priority).collect();
        assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(cols[0].format, "name");
        assert!(cols.iter().all(|c| c.type_ == "string"));
    }

    #[test]
    fn a_pending_pod() {
        let cells = row(json!({
            "metadata": {"name": "web", "creationTimestamp": at(30)},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Pending"}
        }));
        assert_eq!(
            cells,
            vec![
                json!("web"),
                json!("0/2"),
                json!("Pending"),
                json!("0"),
                json!("30s"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn a_running_pod_with_restarts() {
        let cells = row(json!({
            "metadata": {"name": "web", "creationTimestamp": at(3 * 86400)},
            "spec": {"containers": [{"name": "a"}], "nodeName": "n1", "readinessGates": [{"conditionType": "x/ok"}]},
            "status": {
                "phase": "Running",
                "podIPs": [{"ip": "10.0.0.5"}],
                "conditions": [{"type": "x/ok", "status": "True"}],
                "containerStatuses": [{
                    "name": "a", "ready": true, "restartCount": 2, "image": "i", "imageID": "",
                    "state": {"running": {}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": at(300)}}
                }]
            }
        }));
        assert_eq!(cells[1], json!("1/1"));
        assert_eq!(cells[2], json!("Running"));
        assert_eq!(cells[3], json!("2 (5m ago)"));
        assert_eq!(cells[4], json!("3d"));
        assert_eq!(cells[5], json!("10.0.0.5"));
        assert_eq!(cells[6], json!("n1"));
        assert_eq!(cells[8], json!("1/1"));
    }

    #[test]
    fn container_waiting_reason_wins() {
        let cells = row(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "a", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff"}}
            }]}
        }));
        assert_eq!(cells[2], json!("ImagePullBackOff"));
        assert_eq!(cells[4], json!("<unknown>"));
    }

    #[test]
    fn init_container_progress() {
        let status = |init: Value| {
            json!({
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "a"}], "initContainers": [{"name": "i1"}, {"name": "i2"}]},
                "status": {"phase": "Pending", "initContainerStatuses": init}
            })
        };
        let done = json!({"name": "i1", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"terminated": {"exitCode": 0}}});
        let running = json!({"name": "i2", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}});
        assert_eq!(row(status(json!([done, running])))[2], json!("Init:1/2"));
        let failed = json!({"name": "i1", "ready": false, "restartCount": 3, "image": "", "imageID": "", "state": {"terminated": {"exitCode": 2}}});
        let cells = row(status(json!([failed])));
        assert_eq!(cells[2], json!("Init:ExitCode:2"));
        assert_eq!(cells[3], json!("3"));
        let crash = json!({"name": "i1", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}});
        assert_eq!(
            row(status(json!([crash])))[2],
            json!("Init:CrashLoopBackOff")
        );
    }

    #[test]
    fn sidecars_count_as_containers() {
        let cells = row(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}], "initContainers": [{"name": "s", "restartPolicy": "Always"}]},
            "status": {"phase": "Running", "initContainerStatuses": [
                {"name": "s", "ready": true, "started": true, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}
            ]}
        }));
        assert_eq!(cells[1], json!("1/2"));
    }

    #[test]
    fn deletion_shows_terminating_unless_finished() {
        let pod = |phase: &str| {
            json!({
                "metadata": {"name": "p", "deletionTimestamp": at(0)},
                "spec": {"containers": [{"name": "a"}]},
                "status": {"phase": phase}
            })
        };
        assert_eq!(row(pod("Running"))[2], json!("Terminating"));
        assert_eq!(row(pod("Succeeded"))[2], json!("Succeeded"));
    }

    #[test]
    fn scheduling_gated_reason() {
        let cells = row(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}
        }));
        assert_eq!(cells[2], json!("SchedulingGated"));
    }
}
