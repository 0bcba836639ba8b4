//! Label and field selectors: parsed from their string forms and matched against objects.

pub mod fields;
pub mod labels;
