//! Authorizers: AlwaysAllow for now; the aggregated mode adds delegation to the host.
