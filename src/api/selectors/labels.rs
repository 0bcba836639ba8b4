//! Label selector strings (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
//!
//! kube-core's `Selector` can match labels but cannot parse the string form, so the parser is ours;
//! matching is kube-core's.

use std::collections::BTreeMap;

/// A parsed label selector; the default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(pub kube::core::Selector);

impl LabelSelector {
    /// Parses kube's label selector syntax; an error message suits a 400 BadRequest.
    pub fn parse(_s: &str) -> Result<Self, String> {
        todo!("label selector parser")
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        use kube::core::SelectorExt;
        self.0.matches(labels)
    }

    /// Whether this selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.selects_all()
    }
}
