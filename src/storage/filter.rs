//! What one watch follows, shared by the backends and the watch cache so that "one key" and
//! "every key under a prefix" mean the same thing everywhere.

/// One key, or every key under a prefix. Prefixes end in `/` (see [`super::keys`]), which is how
/// the two are told apart and why `ns1/` never matches `ns10/…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    Key(String),
    Prefix(String),
}

impl Filter {
    /// Reads a watch's argument the way [`super::Storage::watch`] documents it.
    pub(crate) fn new(key_or_prefix: &str) -> Self {
        if key_or_prefix.ends_with('/') {
            Self::Prefix(key_or_prefix.to_owned())
        } else {
            Self::Key(key_or_prefix.to_owned())
        }
    }

    /// Whether a change to `key` is one this watch reports.
    pub(crate) fn matches(&self, key: &str) -> bool {
        match self {
            Self::Key(k) => k == key,
            Self::Prefix(p) => key.starts_with(p.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn a_prefix_never_matches_a_longer_sibling() {
        let f = Filter::new("/registry/pods/ns1/");
        assert!(f.matches("/registry/pods/ns1/a"));
        assert!(!f.matches("/registry/pods/ns10/a"));
        let k = Filter::new("/registry/pods/ns1/a");
        assert!(k.matches("/registry/pods/ns1/a"));
        assert!(!k.matches("/registry/pods/ns1/ab"));
    }
}
