//! Which discovery form `/api` and `/apis` write, as kube's discovery wrapper
//! (`aggregated.WrappedHandler`) decides from `Accept`, on top of the parsing in
//! [`crate::endpoints::negotiation`].

use crate::endpoints::negotiation::{AcceptClause, parse_accept};

/// A version of aggregated discovery (`apidiscovery.k8s.io` `APIGroupDiscoveryList`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregatedDiscovery {
    /// `apidiscovery.k8s.io/v2`, what current clients and kube-aggregator ask for.
    V2,
    /// `apidiscovery.k8s.io/v2beta1`, which clients of 1.26–1.29 still list. kube ≥ 1.35 no
    /// longer serves it; Capstan does, so that older aggregators and kubectls skip the legacy walk.
    V2beta1,
}

impl AggregatedDiscovery {
    /// `apidiscovery.k8s.io/v2` or `apidiscovery.k8s.io/v2beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V2 => "apidiscovery.k8s.io/v2",
            Self::V2beta1 => "apidiscovery.k8s.io/v2beta1",
        }
    }

    /// The response `Content-Type`: the media type with the converted GVK in kube's `g`, `v`,
    /// `as` order. client-go and kube-aggregator read the document as aggregated only when these
    /// parameters come back.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V2 => "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            Self::V2beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }
}

/// Whether `accept` asks `/api` or `/apis` for aggregated discovery, as kube's discovery wrapper
/// decides: the first clause, in preference order, on a JSON-compatible type whose `as`/`g`/`v`
/// name `APIGroupDiscoveryList` in `apidiscovery.k8s.io` v2 or v2beta1. A clause without a
/// conversion does not count (the legacy document answers it), nor does one for a format
/// Capstan does not write (protobuf); `profile` (`nopeer`) is accepted and changes nothing, as a
/// server without peers serves the same document either way.
///
/// ```
/// use capstan::endpoints::discovery::negotiation::{negotiate_aggregated_discovery, AggregatedDiscovery};
/// let client_go = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
/// assert_eq!(negotiate_aggregated_discovery(Some(client_go)), Some(AggregatedDiscovery::V2));
/// assert_eq!(negotiate_aggregated_discovery(Some("application/json")), None);
/// ```
pub fn negotiate_aggregated_discovery(accept: Option<&str>) -> Option<AggregatedDiscovery> {
    let header = accept.map(str::trim).unwrap_or("");
    parse_accept(header).iter().find_map(|clause| {
        let json = (clause.type_ == "application"
            && (clause.subtype == "json" || clause.subtype == "*"))
            || (clause.type_ == "*" && clause.subtype == "*");
        if json {
            aggregated_clause(clause)
        } else {
            None
        }
    })
}

/// kube's `acceptMediaTypeOptions` under the discovery endpoint's restrictions.
fn aggregated_clause(clause: &AcceptClause) -> Option<AggregatedDiscovery> {
    let (mut kind, mut group, mut version) = ("", "", "");
    for (key, value) in &clause.params {
        match key.as_str() {
            "as" => kind = value,
            "g" => group = value,
            "v" => version = value,
            "stream" if !value.is_empty() && value != "watch" => return None,
            "sv" if !value.is_empty() => return None,
            _ => {}
        }
    }
    if kind != "APIGroupDiscoveryList" || group != "apidiscovery.k8s.io" {
        return None;
    }
    match version {
        "v2" => Some(AggregatedDiscovery::V2),
        "v2beta1" => Some(AggregatedDiscovery::V2beta1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    #[test]
    fn aggregated_discovery_follows_the_clients_headers() {
        use AggregatedDiscovery::{V2, V2beta1};
        let cases = [
            // client-go (discovery_client.go AcceptV2 + AcceptV1)
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
                Some(V2),
            ),
            // kubectl 1.30–1.32 (kubernetes#130066), kube-rs ACCEPT_AGGREGATED_DISCOVERY_V2
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
                Some(V2),
            ),
            // client-go with NoPeerDiscovery
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
                Some(V2),
            ),
            // kube-aggregator
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                Some(V2),
            ),
            // protobuf first: skipped, the JSON clause wins
            (
                "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
                Some(V2beta1),
            ),
            // q values order the clauses
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
                Some(V2beta1),
            ),
            (
                "application/*;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                Some(V2),
            ),
            // kube's wrapper looks past clauses that ask for no conversion: any aggregated
            // clause the server can write wins, wherever it stands
            (
                "application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                Some(V2),
            ),
            ("application/json", None),
            ("*/*", None),
            ("", None),
            (KUBECTL, None),
            (
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList",
                None,
            ),
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;sv=v1",
                None,
            ),
            (
                "application/yaml;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                None,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(
                negotiate_aggregated_discovery(Some(accept)),
                expected,
                "{accept}"
            );
        }
        assert_eq!(negotiate_aggregated_discovery(None), None);
        assert_eq!(
            V2.content_type(),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
    }
}
