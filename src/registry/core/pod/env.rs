//! Environment validation (`env`, `envFrom`), after kube's `ValidateEnv`, `validateEnvVarValueFrom`
//! and `ValidateEnvFrom`.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar};

use super::checks::invalid_each;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::validation::{is_config_map_key, is_qualified_name, name_is_dns_subdomain};

/// kube's relaxed environment variable names (GA): printable ASCII other than `=`.
fn env_name_errors(name: &str) -> Vec<String> {
    let ok = name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=');
    if ok {
        Vec::new()
    } else {
        vec!["a valid environment variable name must consist only of printable ASCII characters other than '='".into()]
    }
}

pub(super) fn validate_env(vars: &[EnvVar], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = path.index(i);
        if ev.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            errs.extend(invalid_each(
                &p.child("name"),
                &ev.name,
                env_name_errors(&ev.name),
            ));
        }
        errs.extend(validate_env_value_from(ev, &p.child("valueFrom")));
    }
    errs
}

const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

fn validate_env_value_from(ev: &EnvVar, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let Some(from) = &ev.value_from else {
        return errs;
    };
    let mut sources = 0;
    if let Some(field_ref) = &from.field_ref {
        sources += 1;
        let fp = path.child("fieldRef");
        if field_ref.api_version.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(fp.child("apiVersion"), ""));
        } else if field_ref.field_path.is_empty() {
            errs.push(FieldError::required(fp.child("fieldPath"), ""));
        } else if let Some((base, subscript)) = split_subscript(&field_ref.field_path) {
            match base {
                "metadata.annotations" => errs.extend(invalid_each(
                    &fp,
                    &subscript.to_lowercase(),
                    is_qualified_name(&subscript.to_lowercase()),
                )),
                "metadata.labels" => {
                    errs.extend(invalid_each(&fp, subscript, is_qualified_name(subscript)))
                }
                other => errs.push(FieldError::invalid(
                    &fp,
                    other,
                    "does not support subscript",
                )),
            }
        } else if !ENV_FIELD_PATHS.contains(&field_ref.field_path.as_str()) {
            errs.push(FieldError::not_supported(
                fp.child("fieldPath"),
                field_ref.field_path.as_str(),
                &ENV_FIELD_PATHS,
            ));
        }
    }
    if from.resource_field_ref.is_some() {
        sources += 1;
    }
    if let Some(r) = &from.config_map_key_ref {
        sources += 1;
        errs.extend(validate_key_selector(
            &r.name,
            &r.key,
            &path.child("configMapKeyRef"),
        ));
    }
    if let Some(r) = &from.secret_key_ref {
        sources += 1;
        errs.extend(validate_key_selector(
            &r.name,
            &r.key,
            &path.child("secretKeyRef"),
        ));
    }
    if from.file_key_ref.is_some() {
        sources += 1;
    }
    if sources == 0 {
        errs.push(FieldError::invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !ev.value.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not be specified when `value` is not empty",
        ));
    } else if sources > 1 {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

/// `metadata.labels['app']` → (`metadata.labels`, `app`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let (base, rest) = path.split_once("['")?;
    let key = rest.strip_suffix("']")?;
    Some((base, key))
}

fn validate_key_selector(name: &str, key: &str, path: &Path) -> FieldErrors {
    let mut errs = invalid_each(
        &path.child("name"),
        name,
        name_is_dns_subdomain(name, false),
    );
    if key.is_empty() {
        errs.push(FieldError::required(path.child("key"), ""));
    } else {
        errs.extend(invalid_each(
            &path.child("key"),
            key,
            is_config_map_key(key),
        ));
    }
    errs
}

pub(super) fn validate_env_from(sources: &[EnvFromSource], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, ev) in sources.iter().enumerate() {
        let p = path.index(i);
        if let Some(prefix) = ev.prefix.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(invalid_each(
                &p.child("prefix"),
                prefix,
                env_name_errors(prefix),
            ));
        }
        let mut count = 0;
        for (field, name) in [
            (
                "configMapRef",
                ev.config_map_ref.as_ref().map(|r| r.name.as_str()),
            ),
            ("secretRef", ev.secret_ref.as_ref().map(|r| r.name.as_str())),
        ] {
            let Some(name) = name else { continue };
            count += 1;
            let np = p.child(field).child("name");
            if name.is_empty() {
                errs.push(FieldError::required(&np, ""));
            } else {
                errs.extend(invalid_each(&np, name, name_is_dns_subdomain(name, true)));
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if count > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}
