//! Logs now; traces (OTLP) and `/metrics` later.
