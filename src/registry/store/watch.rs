//! Watch, as kube's `Store.Watch` over the etcd3 watcher.
//!
//! * `resourceVersion` `""` or `"0"`: ADDED for every selected object as of now, then changes
//!   (kube treats this as a watch-list, so the bookmark below follows when bookmarks are allowed).
//! * `resourceVersion=N`: the changes after N; N compacted away gives a stream of one ERROR
//!   (410 `Expired`, "too old resource version: N (M)", the watch cache's text).
//! * `sendInitialEvents=true` (watch-list): the current state as ADDED, then, if bookmarks are
//!   allowed, a BOOKMARK annotated `k8s.io/initial-events-end`, then changes.
//!
//! With `allowWatchBookmarks`, a BOOKMARK also goes out about every minute and just before
//! `timeoutSeconds` runs out (see [`super::bookmarks`]).
//!
//! Selectors apply to both sides of an update: an object that stops matching is sent as DELETED
//! (its previous state), one that starts matching as ADDED. DELETED objects carry the revision of
//! the deletion as their resourceVersion.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::bookmarks::{Progress, Schedule, interleave};
use super::{Selection, Store};
use crate::api::ApiError;
use crate::api::options::{
    ListOptions, list_options_errors, list_options_kind, parse_resource_version,
};
use crate::registry::{RequestContext, Strategy, WatchEvent, WatchEvents, codec};
use crate::storage::{ListRequest, StorageError, WatchEvent as StorageEvent, WatchItem};

/// The annotation on the bookmark that ends a watch-list's initial events.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

impl<S: Strategy> Store<S> {
    /// Starts a watch of the request's namespace (or all) per `opts`; see the module doc.
    pub(super) async fn watch_values(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        let as_watch = ListOptions {
            watch: true,
            ..opts.clone()
        };
        let errs = list_options_errors(&as_watch);
        if !errs.is_empty() {
            return Err(ApiError::invalid(list_options_kind(), "", errs));
        }
        self.check_field_labels(&opts.field_selector)?;
        let rv = parse_resource_version(opts.resource_version.as_deref().unwrap_or(""))?;
        let prefix = self.collection_key(ctx);
        let selection = Arc::new(self.selection(opts));

        let (initial, after) = match send_initial_events(opts) {
            Some(true) => {
                let (mut events, revision) = self.initial_state(&prefix, &selection).await?;
                if rv > revision {
                    // Past authorization and option checks, kube's cacher reports a revision the
                    // store has not reached as the stream's one event, not as the response.
                    let err = ApiError::TooLargeResourceVersion {
                        requested: rv,
                        current: revision,
                    };
                    return Ok(stream::iter([WatchEvent::Error(err)]).boxed());
                }
                if opts.allow_watch_bookmarks {
                    events.push(WatchEvent::Bookmark(self.bookmark(revision, true)));
                }
                (events, revision)
            }
            Some(false) if rv == 0 => {
                let current = self
                    .storage
                    .current_revision()
                    .await
                    .map_err(|e| self.storage_error(e, ""))?;
                (Vec::new(), current)
            }
            None if rv == 0 => self.initial_state(&prefix, &selection).await?,
            _ => (Vec::new(), rv),
        };

        // Progress (never requested: the periodic reports are what bookmarks need) keeps a quiet
        // watch's bookmarks moving with the store.
        let requests = Arc::new(Notify::new());
        let changes = match self
            .storage
            .watch_with_progress(&prefix, after, requests)
            .await
        {
            Ok(changes) => changes,
            Err(StorageError::Compacted { compacted, .. }) => return Ok(too_old(after, compacted)),
            Err(err) => return Err(self.storage_error(err, "")),
        };
        let changes = changes
            .map(move |change| translate(&selection, after, change))
            .boxed();
        let schedule = opts.allow_watch_bookmarks.then(|| Schedule {
            interval: self.bookmark_interval,
            deadline: opts
                .timeout_seconds
                .filter(|s| *s > 0)
                .map(|s| Instant::now() + Duration::from_secs(s.unsigned_abs())),
        });
        let (api_version, kind) = (self.descriptor.api_version(), self.descriptor.kind.clone());
        let changes = interleave(changes, after, schedule, move |revision| {
            bookmark(&api_version, &kind, revision, false)
        });
        Ok(stream::iter(initial).chain(changes).boxed())
    }

    /// ADDED events for the selected objects as of the latest revision, and that revision.
    async fn initial_state(
        &self,
        prefix: &str,
        selection: &Selection<S>,
    ) -> Result<(Vec<WatchEvent>, i64), ApiError> {
        let request = ListRequest {
            prefix: prefix.to_string(),
            ..Default::default()
        };
        let resp = self
            .storage
            .list(request)
            .await
            .map_err(|e| self.storage_error(e, ""))?;
        let mut events = Vec::with_capacity(resp.items.len());
        for kv in &resp.items {
            if selection.matches_stored(kv)? {
                events.push(WatchEvent::Added(codec::decode_value_at(
                    &kv.value,
                    kv.mod_revision,
                )?));
            }
        }
        Ok((events, resp.revision))
    }

    /// The bookmark of this kind at `revision`.
    fn bookmark(&self, revision: i64, end_of_initial: bool) -> Value {
        bookmark(
            &self.descriptor.api_version(),
            &self.descriptor.kind,
            revision,
            end_of_initial,
        )
    }
}

/// An object of the watched kind carrying only a resourceVersion (and the initial-events-end
/// annotation when `end_of_initial` is set), as kube's bookmarks.
fn bookmark(api_version: &str, kind: &str, revision: i64, end_of_initial: bool) -> Value {
    let mut metadata = json!({ "resourceVersion": revision.to_string() });
    if end_of_initial {
        metadata["annotations"] = json!({ INITIAL_EVENTS_END_ANNOTATION: "true" });
    }
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
    })
}

/// `sendInitialEvents`, defaulted as kube does with its WatchList feature on (the default since
/// 1.34): a watch from `""` or `"0"` without `resourceVersionMatch` is a watch-list, so it ends
/// its initial events with the annotated bookmark when bookmarks are allowed.
fn send_initial_events(opts: &ListOptions) -> Option<bool> {
    let legacy = matches!(opts.resource_version.as_deref(), None | Some("" | "0"));
    match opts.send_initial_events {
        None if legacy && opts.resource_version_match.is_none() => Some(true),
        explicit => explicit,
    }
}

/// The stream of a watch that starts before the compacted revision: one 410, then the end.
fn too_old(requested: i64, compacted: i64) -> WatchEvents {
    stream::iter([WatchEvent::Error(expired(requested, compacted))]).boxed()
}

/// The watch cache's text for a compacted start revision.
fn expired(requested: i64, compacted: i64) -> ApiError {
    ApiError::Expired {
        message: format!("too old resource version: {requested} ({compacted})"),
    }
}

/// One storage change as the watch sees it: its revision, and the event a client gets, if any;
/// errors end the watch.
fn translate<S: Strategy>(
    selection: &Selection<S>,
    after: i64,
    change: Result<WatchItem, StorageError>,
) -> Progress {
    match change {
        Ok(WatchItem::Event(event)) => Progress {
            revision: Some(event.revision()),
            event: translate_event(selection, event).unwrap_or_else(|e| Some(WatchEvent::Error(e))),
        },
        // The store moved on through other keys: later bookmarks may carry that revision.
        Ok(WatchItem::Progress(revision)) => Progress {
            revision: Some(revision),
            event: None,
        },
        Err(StorageError::Compacted { compacted, .. }) => Progress {
            revision: None,
            event: Some(WatchEvent::Error(expired(after, compacted))),
        },
        Err(err) => Progress {
            revision: None,
            event: Some(WatchEvent::Error(ApiError::internal(err))),
        },
    }
}

fn translate_event<S: Strategy>(
    selection: &Selection<S>,
    event: StorageEvent,
) -> Result<Option<WatchEvent>, ApiError> {
    match event {
        StorageEvent::Delete { revision, prev, .. } => Ok(selection
            .matches_stored(&prev)?
            .then(|| codec::decode_value_at(&prev.value, revision))
            .transpose()?
            .map(WatchEvent::Deleted)),
        StorageEvent::Put { kv, prev } => {
            let current = || codec::decode_value_at(&kv.value, kv.mod_revision);
            let cur_passes = selection.matches_stored(&kv)?;
            let Some(prev) = prev else {
                return Ok(cur_passes.then(current).transpose()?.map(WatchEvent::Added));
            };
            if selection.selects_all() {
                return Ok(Some(WatchEvent::Modified(current()?)));
            }
            // The previous state is sent (if at all) with the revision of this change.
            Ok(match (cur_passes, selection.matches_stored(&prev)?) {
                (true, true) => Some(WatchEvent::Modified(current()?)),
                (true, false) => Some(WatchEvent::Added(current()?)),
                (false, true) => Some(WatchEvent::Deleted(codec::decode_value_at(
                    &prev.value,
                    kv.mod_revision,
                )?)),
                (false, false) => None,
            })
        }
    }
}
