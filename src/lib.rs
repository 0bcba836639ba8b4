//! Capstan: a Kubernetes API server as a library.
//!
//! The layering follows k8s.io/apiserver so that anyone who knows kube-apiserver can find their way:
//!
//! * [`server`] assembles configuration, the filter chain, non-API routes, hooks and TLS serving;
//! * [`endpoints`] turns HTTP into calls on [`registry::Rest`] (installers, handlers, negotiation,
//!   watch framing, Status errors);
//! * [`registry`] holds the generic store and each kind's [`registry::Strategy`];
//! * [`api`] is IO-free: wire types Capstan writes by hand, errors, options, selectors, validation;
//! * [`storage`] is a revisioned key-value [`storage::Storage`] with embedded (redb) and etcd3
//!   backends;
//! * [`auth`] authenticates, authorizes and admits;
//! * [`controllers`] finish what deletions start: the namespace finalizer and the pod finisher;
//! * [`observability`] sets up logs, traces and metrics.
//!
//! Architecture invariants: `registry` never sees HTTP types; `storage` never builds a Status; only
//! `endpoints` negotiates content.

// No `unwrap()`/`expect()` outside tests: a request must never be able to panic the server (the
// test command runs clippy with `-D warnings`, so this is enforced).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod controllers;
pub mod controlplane;
pub mod endpoints;
pub mod observability;
pub mod registry;
pub mod server;
pub mod storage;
