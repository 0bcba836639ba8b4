//! Serving watches from a cached prefix's event window.
//!
//! A write costs the same however many watchers there are: the upstream watch applies its event
//! to the [`State`](super::state::State) once and publishes the new revision on a
//! `tokio::sync::watch` channel, which only wakes watchers. Each watcher then reads the window
//! itself, from its own cursor, at most [`BATCH`] events at a time, so it buffers no more than one
//! batch however slow its client is. A watcher that falls so far behind that its next events have
//! left the window is dropped with `Compacted` (a 410 for the client, which lists again), as kube's
//! cacher drops watchers that cannot keep up.
//!
//! A watcher with progress ([`Storage::watch_with_progress`](crate::storage::Storage)) also
//! reports its cursor whenever it moved past what it last handed out without a change of its own:
//! the cache's revision follows the store through the upstream watch's events and its (periodic)
//! progress notifications, so a quiet watcher's bookmarks follow the store too. A progress request
//! asks the backend for its current revision, asks the upstream watch for progress if the cache is
//! behind it, and is answered once the cursor has got there.

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError};

use futures::StreamExt;
use tokio::sync::{Notify, watch};

use super::Cache;
use super::state::{Filter, Read};
use crate::storage::{
    ProgressStream, Revision, SharedStorage, StorageError, WatchEvent, WatchItem, WatchStream,
    events_only,
};

/// The most events one watcher takes from the window at a time.
pub(super) const BATCH: usize = 100;

struct Watcher {
    cache: Arc<Cache>,
    changed: watch::Receiver<Revision>,
    filter: Filter,
    /// Every event up to here has been considered.
    cursor: Revision,
    pending: VecDeque<WatchEvent>,
    /// On a watcher with progress, how it reports it.
    progress: Option<Progress>,
    done: bool,
}

/// A watcher's progress reporting.
struct Progress {
    requests: Arc<Notify>,
    /// Tells the current revision a request must be answered at.
    backend: SharedStorage,
    /// The revision a requested report must reach.
    requested: Option<Revision>,
    /// The newest revision handed out, as an event or a report.
    reported: Revision,
}

/// What a watcher with nothing to hand out waits for.
enum Wake {
    Changed,
    Request,
    Closed,
}

/// The changes to `filter`'s keys after `after`, from `cache` (which the caller checked can
/// serve them).
pub(super) fn watch(cache: Arc<Cache>, filter: Filter, after: Revision) -> WatchStream {
    events_only(start(cache, filter, after, None))
}

/// [`watch`] with progress reports, answering `requests` with the help of `backend`.
pub(super) fn watch_with_progress(
    cache: Arc<Cache>,
    filter: Filter,
    after: Revision,
    requests: Arc<Notify>,
    backend: SharedStorage,
) -> ProgressStream {
    let progress = Progress {
        requests,
        backend,
        requested: None,
        reported: after,
    };
    start(cache, filter, after, Some(progress))
}

fn start(
    cache: Arc<Cache>,
    filter: Filter,
    after: Revision,
    progress: Option<Progress>,
) -> ProgressStream {
    let changed = cache.revision.subscribe();
    let watcher = Watcher {
        cache,
        changed,
        filter,
        cursor: after,
        pending: VecDeque::new(),
        progress,
        done: false,
    };
    futures::stream::unfold(watcher, step).boxed()
}

async fn step(mut w: Watcher) -> Option<(Result<WatchItem, StorageError>, Watcher)> {
    loop {
        if let Some(event) = w.pending.pop_front() {
            if let Some(progress) = w.progress.as_mut() {
                progress.reported = event.revision();
            }
            return Some((Ok(WatchItem::Event(event)), w));
        }
        if w.done {
            return None;
        }
        if let Some(revision) = w.progress.as_mut().and_then(|p| p.due(w.cursor)) {
            return Some((Ok(WatchItem::Progress(revision)), w));
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
                if moved {
                    continue;
                }
                match wait(&mut w).await {
                    Wake::Changed => {}
                    Wake::Closed => return None,
                    Wake::Request => {
                        if let Err(err) = w.requested().await {
                            w.done = true;
                            return Some((Err(err), w));
                        }
                    }
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

/// Waits for the cache to change or, on a watcher with progress, for a request (looked at first,
/// so that a busy cache cannot starve it).
async fn wait(w: &mut Watcher) -> Wake {
    let changed = &mut w.changed;
    match &w.progress {
        Some(progress) => tokio::select! {
            biased;
            () = progress.requests.notified() => Wake::Request,
            result = changed.changed() => match result {
                Ok(()) => Wake::Changed,
                Err(_) => Wake::Closed,
            },
        },
        None => match changed.changed().await {
            Ok(()) => Wake::Changed,
            Err(_) => Wake::Closed,
        },
    }
}

impl Watcher {
    /// Takes a progress request: the report must reach the backend's current revision, which the
    /// upstream watch is asked for if the cache has not reached it yet.
    async fn requested(&mut self) -> Result<(), StorageError> {
        let Some(progress) = self.progress.as_mut() else {
            return Ok(());
        };
        let target = progress.backend.current_revision().await?;
        progress.requested = Some(progress.requested.map_or(target, |at| at.max(target)));
        if *self.cache.revision.borrow() < target {
            self.cache.progress.notify_one();
        }
        Ok(())
    }
}

impl Progress {
    /// The report due at `cursor`, if one is: the cursor moved past what was handed out, or it
    /// reached a requested revision (answered even if already reported).
    fn due(&mut self, cursor: Revision) -> Option<Revision> {
        let requested = self.requested.is_some_and(|at| cursor >= at);
        if !requested && cursor <= self.reported {
            return None;
        }
        if requested {
            self.requested = None;
        }
        self.reported = cursor;
        Some(cursor)
    }
}
