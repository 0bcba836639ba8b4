//! Logs now; traces (OTLP) and `/metrics` later.

use tracing_subscriber::EnvFilter;

/// Sets up logging to stderr, filtered by `RUST_LOG` (default `info`), so the binary and the
/// tests log the same way. Safe to call more than once: later calls keep the first setup.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // Unit tests log through the harness, which keeps output of passing tests quiet.
    #[cfg(test)]
    let builder = builder.with_test_writer();
    // Colours only for a person at a terminal: a log file or a collector gets plain text.
    #[cfg(not(test))]
    let builder = builder
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _already_set = builder.try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn initialising_twice_is_harmless() {
        super::init_logging();
        super::init_logging();
        assert!(tracing::enabled!(tracing::Level::INFO) || std::env::var("RUST_LOG").is_ok());
    }
}
