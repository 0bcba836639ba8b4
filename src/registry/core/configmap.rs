//! core/v1 ConfigMaps: data and binaryData with config-key names, at most 1 MiB in total, and
//! frozen once `immutable` is set (kube's `ValidateConfigMap` and `ValidateConfigMapUpdate`).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use super::{age_column, name_column};
use crate::api::field::Path;
use crate::api::table::{TableColumnDefinition, age};
use crate::api::validation::is_config_map_key;
use crate::api::{FieldError, FieldErrors, ResourceDescriptor};
use crate::registry::store::Store;
use crate::registry::{RequestContext, Rest, Strategy, Verb};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// The largest total size of a ConfigMap's (or Secret's) data, in bytes (kube's `MaxSecretSize`).
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

/// kube's error text for changing frozen data.
pub(crate) const IMMUTABLE_MSG: &str = "field is immutable when `immutable` is set";

/// What discovery and errors say about configmaps.
pub fn configmap_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        plural: "configmaps".into(),
        singular: "configmap".into(),
        namespaced: true,
        short_names: vec!["cm".into()],
        categories: Vec::new(),
    }
}

/// The verbs of a plain namespaced kind, as kube lists them for configmaps and secrets.
pub(crate) fn namespaced_verbs() -> BTreeSet<Verb> {
    BTreeSet::from([
        Verb::Create,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ])
}

/// The `configmaps` REST storage under `prefix` (`--etcd-prefix`).
pub fn configmap_storage(storage: SharedStorage, prefix: &str) -> Arc<dyn Rest> {
    Arc::new(Store::new(
        configmap_descriptor(),
        KeyLayout::new(prefix, "core", "configmaps"),
        storage,
        ConfigMapStrategy,
        namespaced_verbs(),
    ))
}

/// The rules of core/v1 ConfigMap.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConfigMapStrategy;

/// `Invalid` errors for each bad key, at `path[key]`.
pub(crate) fn key_errors<'a>(path: &Path, keys: impl Iterator<Item = &'a String>) -> FieldErrors {
    keys.flat_map(|key| {
        is_config_map_key(key)
            .into_iter()
            .map(|m| FieldError::invalid(path.key(key), key.as_str(), m))
    })
    .collect()
}

impl Strategy for ConfigMapStrategy {
    type Object = ConfigMap;

    fn validate(&self, _ctx: &RequestContext, cm: &ConfigMap) -> FieldErrors {
        let data_path = Path::new("data");
        let binary_path = Path::new("binaryData");
        let mut errs = FieldErrors::new();
        let mut total = 0usize;
        for (key, value) in cm.data.iter().flatten() {
            errs.extend(key_errors(&data_path, std::iter::once(key)));
            if cm.binary_data.as_ref().is_some_and(|b| b.contains_key(key)) {
                errs.push(FieldError::invalid(
                    data_path.key(key),
                    key.as_str(),
                    "duplicate of key present in binaryData",
                ));
            }
            total += value.len();
        }
        for (key, value) in cm.binary_data.iter().flatten() {
            errs.extend(key_errors(&binary_path, std::iter::once(key)));
            total += value.0.len();
        }
        if total > MAX_DATA_SIZE {
            // kube reports this on `field.NewPath("")`, which prints as `[]`.
            errs.push(FieldError::too_long("[]", MAX_DATA_SIZE));
        }
        errs
    }

    fn validate_update(
        &self,
        ctx: &RequestContext,
        new: &ConfigMap,
        old: &ConfigMap,
    ) -> FieldErrors {
        let mut errs = FieldErrors::new();
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(FieldError::forbidden("immutable", IMMUTABLE_MSG));
            }
            if new.data != old.data {
                errs.push(FieldError::forbidden("data", IMMUTABLE_MSG));
            }
            if new.binary_data != old.binary_data {
                errs.push(FieldError::forbidden("binaryData", IMMUTABLE_MSG));
            }
        }
        errs.extend(self.validate(ctx, new));
        errs
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(vec![
            name_column(),
            TableColumnDefinition::new(
                "Data",
                "string",
                "",
                0,
                "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
            ),
            age_column(),
        ])
    }

    fn table_row(&self, cm: &ConfigMap) -> Vec<Value> {
        let count = cm.data.as_ref().map_or(0, |d| d.len())
            + cm.binary_data.as_ref().map_or(0, |d| d.len());
        vec![
            Value::from(cm.metadata.name.clone().unwrap_or_default()),
            Value::from(count),
            Value::from(age(cm.metadata.creation_timestamp.as_ref())),
        ]
    }
}
