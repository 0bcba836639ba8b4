//! The generic registry store and the core kinds against the real embedded store (a redb file in
//! a temporary directory): every verb, every error path with its code and reason, and checks that
//! a refused request leaves storage as it was.

mod fixture;

mod core_kinds;
mod create;
mod delete;
mod list;
mod update;
mod watch;
