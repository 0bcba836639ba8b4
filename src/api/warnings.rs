//! The warnings of one request, as kube's `warning.AddWarning(ctx, …)` records them.
//!
//! kube keeps a recorder on the request context so that any layer (field validation in the
//! handlers, a strategy's `WarningsOnCreate` in the registry, admission) can add a text without
//! knowing about HTTP. [`Warnings`] is that recorder: it lives on the registry's
//! `RequestContext`, and the endpoints layer turns what it holds into `Warning` response headers
//! (`endpoints::warnings::write_headers`). Like kube's recorder, empty texts are dropped and a
//! text is kept once however often it is added (an update closure retried after a conflict adds
//! the same texts again).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The warnings of one request. Clones share the same list, so an update closure that may run on
/// another task, or a registry call, can add to it.
///
/// ```
/// use capstan::api::warnings::Warnings;
/// let warnings = Warnings::default();
/// warnings.add(r#"unknown field "spec.foo""#);
/// warnings.clone().add(r#"unknown field "spec.foo""#);
/// warnings.add("");
/// assert_eq!(warnings.texts(), [r#"unknown field "spec.foo""#]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Warnings(Arc<Mutex<Recorded>>);

#[derive(Debug, Default)]
struct Recorded {
    texts: Vec<String>,
    seen: HashSet<String>,
}

impl Warnings {
    /// Records `text` unless it is empty or already recorded.
    pub fn add(&self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        let mut recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.seen.insert(text.clone()) {
            recorded.texts.push(text);
        }
    }

    /// Records every text of `texts`, in order (a strategy's warnings).
    pub fn extend(&self, texts: impl IntoIterator<Item = String>) {
        for text in texts {
            self.add(text);
        }
    }

    /// The texts recorded so far, in order.
    pub fn texts(&self) -> Vec<String> {
        let recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.texts.clone()
    }
}
