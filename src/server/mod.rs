//! The generic API server: configuration, filter chain, non-API routes, hooks, TLS serving.

pub mod openapi;
