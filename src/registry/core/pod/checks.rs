//! Small value checks shared by the pod validation files, after k8s.io/apimachinery's
//! util/validation (`IsValidIP`, `IsValidPortName`, `InclusiveRangeError`).

use std::net::IpAddr;

use crate::api::field::{FieldError, FieldErrors, Path};

/// `validation.IsValidIP` as a field error.
pub(super) fn validate_ip(value: &str, path: &Path) -> FieldErrors {
    if value.parse::<IpAddr>().is_ok() {
        return Vec::new();
    }
    vec![FieldError::invalid(
        path,
        value,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
    )]
}

/// One Invalid error per message, all for `value` at `path`.
pub(super) fn invalid_each(path: &Path, value: &str, msgs: Vec<String>) -> FieldErrors {
    msgs.into_iter()
        .map(|m| FieldError::invalid(path, value, m))
        .collect()
}

/// kube's `InclusiveRangeError`.
pub(super) fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// kube's `IsValidPortName` (an IANA service name).
pub(super) fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push("must be no more than 15 characters".to_string());
    }
    if !port
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || port.is_empty()
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}
