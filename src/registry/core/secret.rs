//! core/v1 Secrets: `stringData` merged into `data`, type defaulting to `Opaque`, config-key
//! names, at most 1 MiB of data, per-type required keys, an immutable type, and frozen data once
//! `immutable` is set (kube's `ValidateSecret` and `ValidateSecretUpdate`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use super::configmap::{IMMUTABLE_MSG, MAX_DATA_SIZE, key_errors, namespaced_verbs};
use super::{age_column, name_column};
use crate::api::field::Path;
use crate::api::table::{TableColumnDefinition, age};
use crate::api::validation::validate_immutable_field;
use crate::api::{FieldError, FieldErrors, ResourceDescriptor};
use crate::registry::store::Store;
use crate::registry::{RequestContext, Rest, Strategy};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// The default secret type.
pub const TYPE_OPAQUE: &str = "Opaque";
const TYPE_SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";
const SERVICE_ACCOUNT_NAME_KEY: &str = "kubernetes.io/service-account.name";
const TYPE_DOCKERCFG: &str = "kubernetes.io/dockercfg";
const DOCKERCFG_KEY: &str = ".dockercfg";
const TYPE_DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";
const TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
const TYPE_SSH_AUTH: &str = "kubernetes.io/ssh-auth";
const TYPE_TLS: &str = "kubernetes.io/tls";

/// What discovery and errors say about secrets.
pub fn secret_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        plural: "secrets".into(),
        singular: "secret".into(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
    }
}

/// The `secrets` REST storage under `prefix` (`--etcd-prefix`).
pub fn secret_storage(storage: SharedStorage, prefix: &str) -> Arc<dyn Rest> {
    Arc::new(Store::new(
        secret_descriptor(),
        KeyLayout::new(prefix, "core", "secrets"),
        storage,
        SecretStrategy,
        namespaced_verbs(),
    ))
}

/// The rules of core/v1 Secret.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretStrategy;

fn secret_type(s: &Secret) -> &str {
    s.type_.as_deref().unwrap_or("")
}

/// The checks of one secret type on its data.
fn type_errors(s: &Secret, data_path: &Path) -> FieldErrors {
    let empty = BTreeMap::new();
    let data = s.data.as_ref().unwrap_or(&empty);
    let required = |key: &str| FieldError::required(data_path.key(key), "");
    let mut errs = FieldErrors::new();
    match secret_type(s) {
        TYPE_SERVICE_ACCOUNT_TOKEN => {
            let annotated = s
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SERVICE_ACCOUNT_NAME_KEY))
                .is_some_and(|v| !v.is_empty());
            if !annotated {
                let path = Path::new("metadata")
                    .child("annotations")
                    .key(SERVICE_ACCOUNT_NAME_KEY);
                errs.push(FieldError::required(path, ""));
            }
        }
        TYPE_DOCKERCFG | TYPE_DOCKER_CONFIG_JSON => {
            let key = if secret_type(s) == TYPE_DOCKERCFG {
                DOCKERCFG_KEY
            } else {
                DOCKER_CONFIG_JSON_KEY
            };
            match data.get(key) {
                None => errs.push(required(key)),
                Some(ByteString(bytes)) => {
                    if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(bytes)
                    {
                        errs.push(FieldError::invalid(
                            data_path.key(key),
                            "<secret contents redacted>",
                            e.to_string(),
                        ));
                    }
                }
            }
        }
        // Either key may be empty, but one must be present.
        TYPE_BASIC_AUTH if !data.contains_key("username") && !data.contains_key("password") => {
            errs.push(required("username"));
            errs.push(required("password"));
        }
        TYPE_SSH_AUTH if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            errs.push(required("ssh-privatekey"));
        }
        TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    errs.push(required(key));
                }
            }
        }
        _ => {}
    }
    errs
}

impl Strategy for SecretStrategy {
    type Object = Secret;

    /// `stringData` overwrites `data` and is never stored (kube's conversion), and the type
    /// defaults to `Opaque`.
    fn default_object(&self, s: &mut Secret) {
        if let Some(strings) = s.string_data.take().filter(|m| !m.is_empty()) {
            let data = s.data.get_or_insert_with(BTreeMap::new);
            for (k, v) in strings {
                data.insert(k, ByteString(v.into_bytes()));
            }
        }
        if secret_type(s).is_empty() {
            s.type_ = Some(TYPE_OPAQUE.into());
        }
    }

    fn validate(&self, _ctx: &RequestContext, s: &Secret) -> FieldErrors {
        let data_path = Path::new("data");
        let mut errs = key_errors(&data_path, s.data.iter().flat_map(|d| d.keys()));
        let total: usize = s
            .data
            .iter()
            .flat_map(|d| d.values())
            .map(|v| v.0.len())
            .sum();
        if total > MAX_DATA_SIZE {
            errs.push(FieldError::too_long(&data_path, MAX_DATA_SIZE));
        }
        errs.extend(type_errors(s, &data_path));
        errs
    }

    fn validate_update(&self, ctx: &RequestContext, new: &Secret, old: &Secret) -> FieldErrors {
        let mut errs = validate_immutable_field(&new.type_, &old.type_, &Path::new("type"));
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(FieldError::forbidden("immutable", IMMUTABLE_MSG));
            }
            if new.data != old.data {
                errs.push(FieldError::forbidden("data", IMMUTABLE_MSG));
            }
        }
        errs.extend(self.validate(ctx, new));
        errs
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(vec![
            name_column(),
            TableColumnDefinition::new(
                "Type",
                "string",
                "",
                0,
                "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
            ),
            TableColumnDefinition::new(
                "Data",
                "string",
                "",
                0,
                "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
            ),
            age_column(),
        ])
    }

    fn table_row(&self, s: &Secret) -> Vec<Value> {
        vec![
            Value::from(s.metadata.name.clone().unwrap_or_default()),
            Value::from(secret_type(s)),
            Value::from(s.data.as_ref().map_or(0, |d| d.len())),
            Value::from(age(s.metadata.creation_timestamp.as_ref())),
        ]
    }

    fn extra_field_labels(&self) -> &'static [&'static str] {
        &["type"]
    }

    fn extra_selectable_fields(&self, s: &Secret) -> BTreeMap<String, String> {
        BTreeMap::from([("type".to_string(), secret_type(s).to_string())])
    }
}
