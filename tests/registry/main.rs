//! The generic registry store and the core kinds against the real embedded store (a redb file in
//! a temporary directory): every verb, every error path with its code and reason, and checks that
//! a refused request leaves storage as it was. With `--features etcd` and
//! `CAPSTAN_REGISTRY_BACKEND=etcd` the same cases run against a real etcd.

mod fixture;
#[cfg(feature = "etcd")]
#[path = "../support/mod.rs"]
mod support;

mod core_kinds;
mod create;
mod delete;
mod events;
mod events_api;
mod leases;
mod list;
mod update;
mod watch;
