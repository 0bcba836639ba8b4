//! Ownership bookkeeping (structured-merge-diff's `merge.Updater`, plus kube's wrappers that
//! strip metadata, move an update's fields to its manager and cap the number of updaters).

use std::collections::BTreeMap;

use serde_json::Value;

use super::fieldpath::{FieldPath, FieldSet};
use super::managed::{ManagedEntry, ManagerId, Operation};
use super::typed::{Node, ensure_named_fields_are_members, to_field_set};
use super::typed_ops::{Comparison, compare, drop_nulls, merge, remove_items};

/// The most `Update` managers kept before the oldest are folded into `ancient-changes`.
const MAX_UPDATE_MANAGERS: usize = 10;

/// Managers and their fields.
pub(crate) type Managers = BTreeMap<ManagerId, ManagedEntry>;

/// A field changed by the write that another manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) manager: ManagerId,
    pub(crate) path: FieldPath,
}

/// One kind's schema root and the fields its strategy resets (never owned by anyone).
pub(crate) struct Updater<'a> {
    pub(crate) node: Node<'a>,
    pub(crate) reset: FieldSet,
}

impl Updater<'_> {
    fn filter(&self, set: FieldSet) -> FieldSet {
        if self.reset.is_empty() {
            set
        } else {
            set.recursive_difference(&self.reset)
        }
    }

    /// Takes fields that changed from old to new away from every manager but `workflow`;
    /// without `force`, fields owned by others whose value changes are conflicts instead.
    fn update(
        &self,
        old: &Value,
        new: &Value,
        managers: &mut Managers,
        workflow: &ManagerId,
        force: bool,
    ) -> Result<Comparison, Vec<Conflict>> {
        let cmp = compare(old, new, self.node).exclude(&self.reset);
        let changed = cmp.modified.union(&cmp.added);
        let mut conflicts = Vec::new();
        for (id, entry) in managers.iter() {
            if id == workflow {
                continue;
            }
            for path in entry.set.intersection(&changed).paths() {
                conflicts.push(Conflict {
                    manager: id.clone(),
                    path,
                });
            }
        }
        if !force && !conflicts.is_empty() {
            return Err(conflicts);
        }
        for (id, entry) in managers.iter_mut() {
            if id != workflow {
                entry.set = entry.set.difference(&changed).difference(&cmp.removed);
            }
        }
        managers.retain(|_, e| !e.set.is_empty());
        Ok(cmp)
    }

    /// Records a non-apply write by `id`: what it changed becomes its own, taken from others
    /// (kube: `Updater.Update` for "current-operation", stripped, then merged into `id`).
    pub(crate) fn record(
        &self,
        old: &Value,
        new: &Value,
        managers: &mut Managers,
        id: &ManagerId,
        now: jiff::Timestamp,
    ) {
        let current = ManagerId::new("current-operation", Operation::Update, "", "");
        // Force: an update always wins.
        let Ok(cmp) = self.update(old, new, managers, &current, true) else {
            return;
        };
        let mut set = self.filter(cmp.modified.union(&cmp.added));
        set = strip_meta(&set);
        if set.is_empty() {
            return;
        }
        let entry = managers.entry(id.clone()).or_insert_with(|| ManagedEntry {
            set: FieldSet::new(),
            api_version: id.api_version.clone(),
            applied: false,
            time: None,
        });
        entry.set = set.union(&entry.set);
        entry.api_version = id.api_version.clone();
        entry.applied = false;
        entry.time = Some(now);
    }

    /// Applies `config` for `id` onto `live` (which carries no managedFields). Returns the new
    /// object without nulls, or `None` when the object does not change (managers may still).
    pub(crate) fn apply(
        &self,
        live: &Value,
        config: &Value,
        managers: &mut Managers,
        id: &ManagerId,
        api_version: &str,
        force: bool,
    ) -> Result<Option<Value>, ApplyFailure> {
        let merged = merge(live, config, self.node).map_err(ApplyFailure::Merge)?;
        let last = managers.get(id).map(|e| e.set.clone());
        let set = self.filter(to_field_set(config, self.node));
        let time = managers.get(id).and_then(|e| e.time);
        managers.insert(
            id.clone(),
            ManagedEntry {
                set,
                api_version: api_version.to_string(),
                applied: true,
                time,
            },
        );
        let new = match last {
            Some(last) if !last.is_empty() => self.prune(&merged, managers, &last),
            _ => merged,
        };
        self.update(live, &new, managers, id, force)
            .map_err(ApplyFailure::Conflicts)?;
        if let Some(entry) = managers.get_mut(id) {
            entry.set = strip_meta(&entry.set);
        }
        managers.retain(|_, e| !e.set.is_empty());
        let mut new = new;
        drop_nulls(&mut new);
        Ok((new != *live).then_some(new))
    }

    /// Removes what `id` applied last time but not this time, unless another manager (or the
    /// new configuration) owns it (structured-merge-diff's `prune`).
    fn prune(&self, merged: &Value, managers: &Managers, last: &FieldSet) -> Value {
        let enfam = |s: &FieldSet| ensure_named_fields_are_members(s, self.node);
        let last = enfam(last);
        let pruned = remove_items(merged, &last, self.node);

        // Add back what any manager owns.
        let managed = managers
            .values()
            .fold(FieldSet::new(), |acc, e| acc.union(&e.set));
        let merged_set = enfam(&to_field_set(merged, self.node));
        let pruned_set = enfam(&to_field_set(&pruned, self.node));
        let keep = pruned_set.union(&enfam(&managed));
        let pruned = remove_items(merged, &merged_set.difference(&keep), self.node);

        // Remove only what this manager had applied.
        let pruned_set = enfam(&to_field_set(&pruned, self.node));
        let dangling = merged_set.difference(&pruned_set).intersection(&last);
        remove_items(merged, &dangling, self.node)
    }
}

/// Why the structured merge of an apply failed.
#[derive(Debug)]
pub(crate) enum ApplyFailure {
    Merge(String),
    Conflicts(Vec<Conflict>),
}

/// Metadata nobody owns (kube's `stripMetaManager`).
fn strip_meta(set: &FieldSet) -> FieldSet {
    let mut strip = FieldSet::from_field_paths(&[&["apiVersion"], &["kind"], &["metadata"]]);
    for f in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        strip.insert(&FieldPath::fields(&["metadata", f]).0);
    }
    set.difference(&strip)
}

/// Folds the oldest `Update` managers into `ancient-changes` (one per version) while there are
/// more than ten (kube's `capManagersManager`).
pub(crate) fn cap_update_managers(managers: &mut Managers) {
    let mut updaters: Vec<ManagerId> = managers
        .iter()
        .filter(|(_, e)| !e.applied)
        .map(|(id, _)| id.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    let secs =
        |m: &Managers, id: &ManagerId| m.get(id).and_then(|e| e.time).map_or(0, |t| t.as_second());
    updaters.sort_by(|a, b| secs(managers, a).cmp(&secs(managers, b)).then(a.cmp(b)));
    let mut length = updaters.len();
    let mut first_of_version: BTreeMap<String, ManagerId> = BTreeMap::new();
    for id in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managers.get(&id).cloned() else {
            continue;
        };
        let bucket = ManagerId::new("ancient-changes", Operation::Update, &entry.api_version, "");
        match first_of_version.get(&entry.api_version) {
            Some(first) => {
                if !managers.contains_key(&bucket)
                    && let Some(moved) = managers.remove(first)
                {
                    managers.insert(bucket.clone(), moved);
                }
                let into = managers
                    .get(&bucket)
                    .map(|e| e.set.clone())
                    .unwrap_or_default();
                managers.remove(&id);
                managers.insert(
                    bucket,
                    ManagedEntry {
                        set: entry.set.union(&into),
                        api_version: entry.api_version.clone(),
                        applied: entry.applied,
                        time: entry.time,
                    },
                );
                length -= 1;
            }
            None => {
                first_of_version.insert(entry.api_version.clone(), id);
            }
        }
    }
}
