//! The key range a [`ListRequest`] covers, checked the same way for every backend.

use super::{ListRequest, Result, StorageError};

/// A validated list range: keys in `[start, end)`, at most `limit` of them.
pub(crate) struct KeyRange<'a> {
    pub start: &'a str,
    pub end: String,
    pub limit: Option<usize>,
}

impl<'a> KeyRange<'a> {
    /// Checks that the prefix ends in `/` and the start key lies under it; a zero limit is none.
    pub(crate) fn of(req: &'a ListRequest) -> Result<Self> {
        if !req.prefix.ends_with('/') {
            return Err(StorageError::InvalidArgument(format!(
                "list prefix {:?} must end in '/'",
                req.prefix
            )));
        }
        let start = match req.start_key.as_deref() {
            Some(start) if !start.starts_with(&req.prefix) => {
                return Err(StorageError::InvalidArgument(format!(
                    "start key {start:?} is not under prefix {:?}",
                    req.prefix
                )));
            }
            Some(start) => start,
            None => req.prefix.as_str(),
        };
        let limit = req.limit.filter(|&l| l > 0);
        Ok(Self {
            start,
            end: prefix_end(&req.prefix),
            limit,
        })
    }

    /// Whether `count` items fill the limit.
    pub(crate) fn full(&self, count: usize) -> bool {
        self.limit.is_some_and(|l| count >= l)
    }
}

/// The smallest string greater than every key under `prefix` (which ends in `/`), so a prefix is
/// the half-open key range `[prefix, prefix_end(prefix))`.
pub(crate) fn prefix_end(prefix: &str) -> String {
    // `/` + 1 is `0`; replacing the final `/` keeps the string valid UTF-8.
    let mut end = prefix.strip_suffix('/').unwrap_or(prefix).to_owned();
    end.push('0');
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_bounds_only_the_prefix() {
        let end = prefix_end("/r/pods/ns1/");
        assert_eq!(end, "/r/pods/ns10");
        assert!("/r/pods/ns1/zzz" < end.as_str());
        assert!("/r/pods/ns10/a" >= end.as_str());
        assert!("/r/pods/ns1/" >= "/r/pods/ns1/");
    }

    #[test]
    fn requests_are_checked() {
        let req = |prefix: &str, start: Option<&str>| ListRequest {
            prefix: prefix.into(),
            start_key: start.map(Into::into),
            limit: Some(0),
            ..Default::default()
        };
        assert!(KeyRange::of(&req("/a", None)).is_err());
        assert!(KeyRange::of(&req("/a/", Some("/b/x"))).is_err());
        let ok = req("/a/", Some("/a/x"));
        let range = KeyRange::of(&ok).unwrap();
        assert_eq!(
            (range.start, range.end.as_str(), range.limit),
            ("/a/x", "/a0", None)
        );
    }
}
