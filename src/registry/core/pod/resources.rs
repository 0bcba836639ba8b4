//! Container resource requirements, after kube's `ValidateContainerResourceRequirements`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;

use super::checks::invalid_each;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::quantity::{ParsedQuantity, QuantityError};
use crate::api::validation::is_qualified_name;

/// Names that need no domain prefix and are container resources.
fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// kube's `IsOvercommitAllowed`: native resources other than hugepages.
fn is_overcommit_allowed(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    native && !name.starts_with("hugepages-")
}

/// `ValidateContainerResourceRequirements`: known names, non-negative values, requests within
/// limits (equal for resources that cannot be overcommitted).
pub(super) fn validate_resources(res: &ResourceRequirements, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let empty = BTreeMap::new();
    let limits = res.limits.as_ref().unwrap_or(&empty);
    let mut parsed_limits = BTreeMap::new();
    for (name, q) in limits {
        let p = lim_path.key(name);
        errs.extend(validate_resource_name(name, &p));
        if let Some(v) = validate_quantity(name, &q.0, &p, &mut errs) {
            parsed_limits.insert(name.as_str(), v);
        }
    }
    for (name, q) in res.requests.iter().flatten() {
        let p = req_path.key(name);
        errs.extend(validate_resource_name(name, &p));
        let Some(value) = validate_quantity(name, &q.0, &p, &mut errs) else {
            continue;
        };
        match parsed_limits.get(name.as_str()) {
            Some(limit) if value != *limit && !is_overcommit_allowed(name) => {
                errs.push(FieldError::invalid(
                    &req_path,
                    q.0.as_str(),
                    format!("must be equal to {name} limit of {}", limits[name].0),
                ));
            }
            Some(limit) if value > *limit => errs.push(FieldError::invalid(
                &req_path,
                q.0.as_str(),
                format!(
                    "must be less than or equal to {name} limit of {}",
                    limits[name].0
                ),
            )),
            Some(_) => {}
            None if !is_overcommit_allowed(name) && !limits.contains_key(name) => {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
    }
    errs
}

fn validate_resource_name(name: &str, path: &Path) -> FieldErrors {
    let mut errs = invalid_each(path, name, is_qualified_name(name));
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_container_resource(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for containers",
        ));
    }
    errs
}

/// Parses a quantity, recording kube's errors for malformed, negative and fractional-extended
/// values.
fn validate_quantity(
    name: &str,
    raw: &str,
    path: &Path,
    errs: &mut FieldErrors,
) -> Option<ParsedQuantity> {
    let Ok(value) = raw.parse::<ParsedQuantity>() else {
        errs.push(FieldError::invalid(path, raw, QuantityError.to_string()));
        return None;
    };
    if value.is_negative() {
        errs.push(FieldError::invalid(
            path,
            raw,
            "must be greater than or equal to 0",
        ));
    }
    // Extended resources (`example.com/gpu`) come in whole units.
    let extended = name.contains('/') && !name.contains("kubernetes.io/");
    if extended && !value.is_integer() {
        errs.push(FieldError::invalid(path, raw, "must be an integer"));
    }
    Some(value)
}
