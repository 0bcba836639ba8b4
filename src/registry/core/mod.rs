//! The legacy core/v1 group: namespaces, pods, configmaps, secrets.

pub mod pod;
