//! Probes and lifecycle hooks, after kube's `validateProbe`, `validateLifecycle` and
//! `validateHandler`.

use k8s_openapi::api::core::v1::{Container, Lifecycle, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::checks::{inclusive_range_error, invalid_each, is_valid_port_name};
use crate::api::field::{FieldError, FieldErrors, Path};

pub(super) fn validate_probes(c: &Container, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        let Some(probe) = probe else { continue };
        let p = path.child(field);
        errs.extend(validate_probe(probe, grace, &p));
        if field != "readinessProbe" && probe.success_threshold.unwrap_or(0) != 1 {
            errs.push(FieldError::invalid(
                p.child("successThreshold"),
                probe.success_threshold.unwrap_or(0),
                "must be 1",
            ));
        }
        if field == "readinessProbe"
            && let Some(t) = probe.termination_grace_period_seconds
        {
            errs.push(FieldError::invalid(
                p.child("terminationGracePeriodSeconds"),
                t,
                "must not be set for readinessProbes",
            ));
        }
    }
    errs
}

fn validate_probe(probe: &Probe, grace: Option<i64>, path: &Path) -> FieldErrors {
    let handler = Handler {
        exec: probe.exec.is_some(),
        exec_command_empty: probe
            .exec
            .as_ref()
            .is_some_and(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: probe
            .http_get
            .as_ref()
            .map(|h| (h.path.as_deref(), &h.port, h.scheme.as_deref())),
        tcp_port: probe.tcp_socket.as_ref().map(|t| t.port.clone()),
        grpc_port: probe.grpc.as_ref().map(|g| g.port),
        sleep_seconds: None,
    };
    let mut errs = validate_handler(&handler, grace, path);
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        let v = value.unwrap_or(0);
        if v < 0 {
            errs.push(FieldError::invalid(
                path.child(field),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(t) = probe.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    errs
}

pub(super) fn validate_lifecycle(l: &Lifecycle, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (field, handler) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
        if let Some(h) = handler {
            errs.extend(validate_handler(
                &lifecycle_handler(h),
                grace,
                &path.child(field),
            ));
        }
    }
    errs
}

fn lifecycle_handler(h: &LifecycleHandler) -> Handler<'_> {
    Handler {
        exec: h.exec.is_some(),
        exec_command_empty: h
            .exec
            .as_ref()
            .is_some_and(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: h
            .http_get
            .as_ref()
            .map(|g| (g.path.as_deref(), &g.port, g.scheme.as_deref())),
        tcp_port: h.tcp_socket.as_ref().map(|t| t.port.clone()),
        grpc_port: None,
        sleep_seconds: h.sleep.as_ref().map(|s| s.seconds),
    }
}

/// kube's `commonHandler`: the one action of a probe or lifecycle hook.
struct Handler<'a> {
    exec: bool,
    exec_command_empty: bool,
    http_get: Option<(Option<&'a str>, &'a IntOrString, Option<&'a str>)>,
    tcp_port: Option<IntOrString>,
    grpc_port: Option<i32>,
    sleep_seconds: Option<i64>,
}

fn validate_handler(h: &Handler<'_>, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut count = 0;
    let mut one = |field: &str, errs: &mut FieldErrors| {
        count += 1;
        if count > 1 {
            errs.push(FieldError::forbidden(
                path.child(field),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            true
        }
    };
    if h.exec && one("exec", &mut errs) && h.exec_command_empty {
        errs.push(FieldError::required(
            path.child("exec").child("command"),
            "",
        ));
    }
    if let Some((http_path, port, scheme)) = h.http_get
        && one("httpGet", &mut errs)
    {
        let p = path.child("httpGet");
        if http_path.unwrap_or("").is_empty() {
            errs.push(FieldError::required(p.child("path"), ""));
        }
        errs.extend(validate_port_num_or_name(port, &p.child("port")));
        let scheme = scheme.unwrap_or("");
        if scheme != "HTTP" && scheme != "HTTPS" {
            errs.push(FieldError::not_supported(
                p.child("scheme"),
                scheme,
                &["HTTP", "HTTPS"],
            ));
        }
    }
    if let Some(port) = &h.tcp_port
        && one("tcpSocket", &mut errs)
    {
        errs.extend(validate_port_num_or_name(
            port,
            &path.child("tcpSocket").child("port"),
        ));
    }
    if let Some(port) = h.grpc_port
        && one("grpc", &mut errs)
    {
        errs.extend(validate_port_num_or_name(
            &IntOrString::Int(port),
            &path.child("grpc").child("port"),
        ));
    }
    if let Some(seconds) = h.sleep_seconds
        && one("sleep", &mut errs)
        && let Some(g) = grace.filter(|g| seconds < 0 || seconds > *g)
    {
        errs.push(FieldError::invalid(
            path.child("sleep"),
            seconds,
            format!("must be non-negative and less than terminationGracePeriodSeconds ({g})"),
        ));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_port_num_or_name(port: &IntOrString, path: &Path) -> FieldErrors {
    match port {
        IntOrString::Int(n) if !(1..=65535).contains(n) => {
            vec![FieldError::invalid(
                path,
                *n,
                inclusive_range_error(1, 65535),
            )]
        }
        IntOrString::Int(_) => Vec::new(),
        IntOrString::String(s) => invalid_each(path, s, is_valid_port_name(s)),
    }
}
