//! coordination.k8s.io/v1 Leases, as kube's `pkg/registry/coordination/lease` and
//! `pkg/apis/coordination/validation` (`ValidateLease`, `ValidateLeaseSpec`).
//!
//! Leases are written by every leader-election candidate every few seconds, so the rules are
//! few: a positive duration, a non-negative transition count, and the coordinated-election fields
//! (`strategy`, `preferredHolder`) dropped as kube drops them while its CoordinatedLeaderElection
//! gate is off (the default in 1.37). Updates must name a resourceVersion (kube's
//! `AllowUnconditionalUpdate` is false), and PUT may create (`AllowCreateOnUpdate` is true).

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use serde_json::Value;

use super::GROUP;
use crate::api::field::Path;
use crate::api::table::{TableColumnDefinition, age};
use crate::api::validation::is_qualified_name;
use crate::api::{FieldError, FieldErrors, ResourceDescriptor};
use crate::registry::core::configmap::namespaced_verbs;
use crate::registry::core::{age_column, name_column};
use crate::registry::store::Store;
use crate::registry::{RequestContext, Rest, Strategy};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// The strategies kube defines itself (`validLeaseStrategies`); others must be qualified names
/// with a `/` (a vendor's own).
const KUBE_LEASE_STRATEGIES: [&str; 1] = ["OldestEmulationVersion"];

/// What discovery and errors say about leases: no short names, no categories (as kube).
pub fn lease_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: GROUP.into(),
        version: super::VERSION.into(),
        kind: "Lease".into(),
        plural: "leases".into(),
        singular: "lease".into(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
    }
}

/// The `leases` REST storage under `prefix` (`--etcd-prefix`), keyed by the group's name as
/// every non-core group is (`storage::keys`).
pub fn lease_storage(storage: SharedStorage, prefix: &str) -> Arc<dyn Rest> {
    Arc::new(Store::new(
        lease_descriptor(),
        KeyLayout::new(prefix, GROUP, "leases"),
        storage,
        LeaseStrategy,
        namespaced_verbs(),
    ))
}

/// The rules of coordination.k8s.io/v1 Lease.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaseStrategy;

/// kube's `ValidateLeaseSpec` at `spec`.
fn validate_spec(spec: &LeaseSpec) -> FieldErrors {
    let path = Path::new("spec");
    let mut errs = FieldErrors::new();
    if let Some(duration) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(
            path.child("leaseDurationSeconds"),
            duration,
            "must be greater than 0",
        ));
    }
    if let Some(transitions) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid(
            path.child("leaseTransitions"),
            transitions,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(strategy) = &spec.strategy {
        errs.extend(validate_strategy(strategy, &path.child("strategy")));
    }
    let preferred = spec
        .preferred_holder
        .as_deref()
        .is_some_and(|h| !h.is_empty());
    if preferred && spec.strategy.as_deref().is_none_or(str::is_empty) {
        errs.push(FieldError::forbidden(
            path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

/// kube's `ValidateCoordinatedLeaseStrategy`, which reports at `<path>.strategy` (kube appends
/// the child to a path that already ends in `strategy`).
fn validate_strategy(strategy: &str, path: &Path) -> FieldErrors {
    let at = path.child("strategy");
    if !strategy.contains('/') {
        if KUBE_LEASE_STRATEGIES.contains(&strategy) {
            return FieldErrors::new();
        }
        return vec![FieldError::not_supported(
            at,
            strategy,
            &KUBE_LEASE_STRATEGIES,
        )];
    }
    is_qualified_name(strategy)
        .into_iter()
        .map(|msg| FieldError::invalid(at.clone(), strategy, msg))
        .collect()
}

impl Strategy for LeaseStrategy {
    type Object = Lease;

    fn prepare_for_create(&self, _ctx: &RequestContext, lease: &mut Lease) {
        // CoordinatedLeaderElection is off: the fields it adds are not kept.
        if let Some(spec) = lease.spec.as_mut() {
            spec.strategy = None;
            spec.preferred_holder = None;
        }
    }

    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut Lease, old: &Lease) {
        // With the gate off, kube keeps the fields only where the stored lease already had them.
        let old_spec = old.spec.as_ref();
        if let Some(spec) = new.spec.as_mut() {
            if old_spec.is_none_or(|s| s.strategy.is_none()) {
                spec.strategy = None;
            }
            if old_spec.is_none_or(|s| s.preferred_holder.is_none()) {
                spec.preferred_holder = None;
            }
        }
    }

    fn validate(&self, _ctx: &RequestContext, lease: &Lease) -> FieldErrors {
        lease.spec.as_ref().map(validate_spec).unwrap_or_default()
    }

    fn validate_update(&self, ctx: &RequestContext, new: &Lease, _old: &Lease) -> FieldErrors {
        self.validate(ctx, new)
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(vec![
            name_column(),
            TableColumnDefinition::new(
                "Holder",
                "string",
                "",
                0,
                "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
            ),
            age_column(),
        ])
    }

    fn table_row(&self, lease: &Lease) -> Vec<Value> {
        let holder = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default();
        vec![
            Value::from(lease.metadata.name.clone().unwrap_or_default()),
            Value::from(holder),
            Value::from(age(lease.metadata.creation_timestamp.as_ref())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(f: impl FnOnce(&mut LeaseSpec)) -> LeaseSpec {
        let mut spec = LeaseSpec::default();
        f(&mut spec);
        spec
    }

    fn fields(errs: &FieldErrors) -> Vec<String> {
        errs.iter()
            .map(|e| format!("{}: {}", e.field, e.detail))
            .collect()
    }

    #[test]
    fn durations_and_transitions_are_bounded() {
        let errs = validate_spec(&spec(|s| {
            s.lease_duration_seconds = Some(0);
            s.lease_transitions = Some(-1);
        }));
        assert_eq!(
            fields(&errs),
            [
                "spec.leaseDurationSeconds: must be greater than 0",
                "spec.leaseTransitions: must be greater than or equal to 0",
            ]
        );
        let ok = validate_spec(&spec(|s| {
            s.lease_duration_seconds = Some(1);
            s.lease_transitions = Some(0);
            s.holder_identity = Some("anyone at all".into());
        }));
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn strategy_rules_match_kube() {
        let errs = validate_spec(&spec(|s| s.strategy = Some("Newest".into())));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.strategy.strategy");
        assert_eq!(
            errs[0].detail,
            "supported values: \"OldestEmulationVersion\""
        );
        assert!(validate_spec(&spec(|s| s.strategy = Some("example.com/mine".into()))).is_empty());
        let errs = validate_spec(&spec(|s| s.preferred_holder = Some("a".into())));
        assert_eq!(
            fields(&errs),
            ["spec.preferredHolder: may only be specified if `strategy` is defined"]
        );
    }

    #[test]
    fn coordinated_fields_are_dropped_unless_already_stored() {
        let ctx = RequestContext {
            namespace: Some("default".into()),
            user: crate::auth::UserInfo::default(),
            admission: std::sync::Arc::new(crate::auth::admission::AdmissionChain::default()),
            warnings: Default::default(),
        };
        let with = |strategy: Option<&str>| Lease {
            spec: Some(spec(|s| {
                s.strategy = strategy.map(String::from);
                s.preferred_holder = strategy.map(|_| "a".to_string());
            })),
            ..Default::default()
        };
        let mut created = with(Some("OldestEmulationVersion"));
        LeaseStrategy.prepare_for_create(&ctx, &mut created);
        assert_eq!(created.spec, Some(LeaseSpec::default()));

        let mut updated = with(Some("OldestEmulationVersion"));
        LeaseStrategy.prepare_for_update(&ctx, &mut updated, &with(None));
        assert_eq!(updated.spec, Some(LeaseSpec::default()));

        let old = with(Some("OldestEmulationVersion"));
        let mut kept = old.clone();
        LeaseStrategy.prepare_for_update(&ctx, &mut kept, &old);
        assert_eq!(kept, old);
    }

    #[test]
    fn table_row_shows_the_holder() {
        let lease = Lease {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("ctrl".into()),
                ..Default::default()
            },
            spec: Some(spec(|s| s.holder_identity = Some("node-a_1234".into()))),
        };
        let row = LeaseStrategy.table_row(&lease);
        assert_eq!(row[..2], [Value::from("ctrl"), Value::from("node-a_1234")]);
        let columns = LeaseStrategy.table_columns().unwrap();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Name", "Holder", "Age"]);
    }
}
