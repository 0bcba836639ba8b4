//! Authenticators: x509 client certificates (standalone), anonymous fallback.
