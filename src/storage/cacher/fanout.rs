//! Serving watches from a cached prefix's event window.
//!
//! A write costs the same however many watchers there are: the upstream watch applies its event
//! to the [`State`](super::state::State) once and publishes the new revision on a
//! `tokio::sync::watch` channel, which only wakes watchers. Each watcher then reads the window
//! itself, from its own cursor, at most [`BATCH`] events at a time, so it buffers no more than one
//! batch however slow its client is. A watcher that falls so far behind that its next events have
//! left the window is dropped with `Compacted` (a 410 for the client, which lists again), as kube's
//! cacher drops watchers that cannot keep up.

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError};

use futures::StreamExt;
use tokio::sync::watch;

use super::Cache;
use super::state::{Filter, Read};
use crate::storage::{Revision, StorageError, WatchEvent, WatchStream};

/// The most events one watcher takes from the window at a time.
pub(super) const BATCH: usize = 100;

struct Watcher {
    cache: Arc<Cache>,
    changed: watch::Receiver<Revision>,
    filter: Filter,
    /// Every event up to here has been considered.
    cursor: Revision,
    pending: VecDeque<WatchEvent>,
    done: bool,
}

/// The changes to `filter`'s keys after `after`, from `cache` (which the caller checked can
/// serve them).
pub(super) fn watch(cache: Arc<Cache>, filter: Filter, after: Revision) -> WatchStream {
    let changed = cache.revision.subscribe();
    let watcher = Watcher {
        cache,
        changed,
        filter,
        cursor: after,
        pending: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(watcher, step).boxed()
}

async fn step(mut w: Watcher) -> Option<(Result<WatchEvent, StorageError>, Watcher)> {
    loop {
        if let Some(event) = w.pending.pop_front() {
            return Some((Ok(event), w));
        }
        if w.done {
            return None;
        }
        // Marked seen before reading, so a change published after the read wakes the wait below.
        w.changed.borrow_and_update();
        let read = w
            .cache
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .read_after(w.cursor, &w.filter, BATCH);
        match read {
            Read::Events { events, through } => {
                let moved = through > w.cursor;
                w.cursor = through;
                w.pending.extend(events);
                if !moved && w.changed.changed().await.is_err() {
                    return None;
                }
            }
            Read::Behind { window_start } => {
                w.done = true;
                let err = StorageError::Compacted {
                    requested: w.cursor,
                    compacted: window_start,
                };
                return Some((Err(err), w));
            }
            Read::Closed => return None,
        }
    }
}
