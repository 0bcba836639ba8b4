//! Watches on the embedded store: replay from history, then live events from the broadcast.
//!
//! A watch subscribes to the broadcast *before* it reads history, so no commit can fall between
//! the two. It then keeps one `cursor`: the highest revision it has fully considered. Replay reads
//! history in batches above the cursor until it reaches the snapshot's current revision; live
//! events at or below the cursor are duplicates of replayed ones and are skipped. If the receiver
//! lags (the broadcast overwrote events it had not read), the watch goes back to replaying from
//! the cursor, so nothing is lost; only compaction past the cursor ends it (`Compacted`).
//!
//! A watch with progress requests answers each with a [`WatchItem::Progress`] at its cursor once
//! the cursor has reached the revision that was current when the request came (the commit that
//! made it current is broadcast right after, so the watch soon sees it).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{Inner, read};
use crate::storage::{ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem};

/// How many history entries one replay step reads (one blocking task each).
pub(super) const REPLAY_BATCH: usize = 1024;

/// What a watch follows.
#[derive(Clone, Debug)]
pub(super) enum Filter {
    Key(String),
    Prefix(String),
}

impl Filter {
    pub(super) fn new(key_or_prefix: &str) -> Self {
        if key_or_prefix.ends_with('/') {
            Self::Prefix(key_or_prefix.to_owned())
        } else {
            Self::Key(key_or_prefix.to_owned())
        }
    }

    fn matches(&self, key: &str) -> bool {
        match self {
            Self::Key(k) => k == key,
            Self::Prefix(p) => key.starts_with(p.as_str()),
        }
    }
}

/// The key an event is about.
pub(super) fn event_key(event: &WatchEvent) -> &str {
    match event {
        WatchEvent::Put { kv, .. } => &kv.key,
        WatchEvent::Delete { key, .. } => key,
    }
}

enum Phase {
    Replay,
    Live,
    Done,
}

struct State {
    inner: Arc<Inner>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
    cursor: Revision,
    pending: VecDeque<WatchEvent>,
    phase: Phase,
    /// Progress requests, for watches that take them.
    requests: Option<Arc<Notify>>,
    /// The revision a requested progress notification must reach.
    progress_at: Option<Revision>,
}

/// One replay step's outcome.
struct Replayed {
    events: Vec<WatchEvent>,
    /// Every revision up to this one has been considered.
    through: Revision,
    caught_up: bool,
}

/// Starts a watch of `filter` after `after`, with `rx` already subscribed, answering progress
/// `requests` if given.
pub(super) fn stream(
    inner: Arc<Inner>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
    after: Revision,
    requests: Option<Arc<Notify>>,
) -> ProgressStream {
    let state = State {
        inner,
        filter,
        rx,
        cursor: after,
        pending: VecDeque::new(),
        phase: Phase::Replay,
        requests,
        progress_at: None,
    };
    futures::stream::unfold(state, step).boxed()
}

/// What a live watch waits for.
enum Live {
    Event(std::result::Result<Arc<WatchEvent>, RecvError>),
    ProgressRequest,
}

async fn step(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(event) = st.pending.pop_front() {
            return Some((Ok(WatchItem::Event(event)), st));
        }
        if st.progress_at.is_some_and(|at| st.cursor >= at) {
            st.progress_at = None;
            return Some((Ok(WatchItem::Progress(st.cursor)), st));
        }
        match st.phase {
            Phase::Done => return None,
            Phase::Replay => {
                let (inner, filter, cursor) = (st.inner.clone(), st.filter.clone(), st.cursor);
                let replayed = super::blocking(move || replay(&inner, &filter, cursor)).await;
                match replayed {
                    Ok(r) => {
                        st.pending.extend(r.events);
                        st.cursor = r.through;
                        if r.caught_up {
                            st.phase = Phase::Live;
                        }
                    }
                    Err(err) => {
                        st.phase = Phase::Done;
                        return Some((Err(err), st));
                    }
                }
            }
            Phase::Live => match next_live(&mut st).await {
                Live::ProgressRequest => {
                    let current = st.inner.revision.load(Ordering::SeqCst);
                    st.progress_at = Some(st.progress_at.map_or(current, |at| at.max(current)));
                }
                Live::Event(Ok(event)) => {
                    let rev = event.revision();
                    if rev > st.cursor {
                        st.cursor = rev;
                        if st.filter.matches(event_key(&event)) {
                            return Some((Ok(WatchItem::Event(WatchEvent::clone(&event))), st));
                        }
                    }
                }
                Live::Event(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(
                        missed,
                        cursor = st.cursor,
                        "watch lagged; replaying from history"
                    );
                    st.phase = Phase::Replay;
                }
                Live::Event(Err(RecvError::Closed)) => st.phase = Phase::Done,
            },
        }
    }
}

/// The next broadcast event, or a progress request (looked at first: requests are rare, and a
/// busy broadcast must not starve them).
async fn next_live(st: &mut State) -> Live {
    match &st.requests {
        Some(requests) => tokio::select! {
            biased;
            () = requests.notified() => Live::ProgressRequest,
            event = st.rx.recv() => Live::Event(event),
        },
        None => Live::Event(st.rx.recv().await),
    }
}

/// Reads one batch of history after `cursor` (blocking).
fn replay(inner: &Inner, filter: &Filter, cursor: Revision) -> Result<Replayed> {
    let txn = inner.begin_read()?;
    let revs = read::revisions(&txn)?;
    if cursor < revs.compacted {
        return Err(StorageError::Compacted {
            requested: cursor,
            compacted: revs.compacted,
        });
    }
    let mut events = Vec::new();
    let (scanned, last) = match filter {
        Filter::Key(key) => {
            let revisions = read::key_revisions(&txn, key, cursor, REPLAY_BATCH)?;
            for &rev in &revisions {
                events.extend(read::event_at(&txn, key, rev)?);
            }
            (revisions.len(), revisions.last().copied())
        }
        Filter::Prefix(prefix) => {
            let changes = read::changes_since(&txn, cursor, REPLAY_BATCH)?;
            for (rev, key) in &changes {
                if key.starts_with(prefix.as_str()) {
                    events.extend(read::event_at(&txn, key, *rev)?);
                }
            }
            (changes.len(), changes.last().map(|(rev, _)| *rev))
        }
    };
    let caught_up = scanned < REPLAY_BATCH;
    let through = if caught_up {
        revs.current.max(cursor)
    } else {
        last.unwrap_or(cursor)
    };
    Ok(Replayed {
        events,
        through,
        caught_up,
    })
}
