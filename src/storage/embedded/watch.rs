//! Watches on the embedded store: replay from history, then live events from the broadcast.
//!
//! A watch subscribes to the broadcast *before* it reads history, so no commit can fall between
//! the two. It then keeps one `cursor`: the highest revision it has fully considered. Replay reads
//! history in batches above the cursor until it reaches the snapshot's current revision; live
//! events at or below the cursor are duplicates of replayed ones and are skipped. If the receiver
//! lags (the broadcast overwrote events it had not read), the watch goes back to replaying from
//! the cursor, so nothing is lost; only compaction past the cursor ends it (`Compacted`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::{Inner, read};
use crate::storage::{
    ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem, WatchStream,
};

/// How many history entries one replay step reads (one blocking task each).
pub(super) const REPLAY_BATCH: usize = 1024;

/// The least time between two progress reports of one watch: the cursor moves with every commit
/// to any key, and bookmarks (a minute apart) need only a recent one.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

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
    /// Whether to report progress at all, and the last report (revision and time).
    progress: bool,
    reported: Revision,
    reported_at: Instant,
}

impl State {
    /// A progress report of the cursor, when one is wanted and due: every change up to the
    /// cursor has been considered and the matching ones handed out.
    fn progress_due(&mut self) -> Option<WatchItem> {
        if !self.progress || self.cursor <= self.reported {
            return None;
        }
        let now = Instant::now();
        if now.duration_since(self.reported_at) < PROGRESS_EVERY {
            return None;
        }
        self.reported = self.cursor;
        self.reported_at = now;
        Some(WatchItem::Progress(self.cursor))
    }

    /// The next live change; `None` when an unreported cursor's report falls due first, so
    /// that the last changes to other keys before a quiet spell are reported too.
    async fn receive(&mut self) -> Option<Result<Arc<WatchEvent>, RecvError>> {
        if !self.progress || self.cursor <= self.reported {
            return Some(self.rx.recv().await);
        }
        let due = self.reported_at + PROGRESS_EVERY;
        tokio::select! {
            // `recv` is cancel safe: a change it had not returned stays queued.
            received = self.rx.recv() => Some(received),
            () = tokio::time::sleep_until(due) => None,
        }
    }
}

/// One replay step's outcome.
struct Replayed {
    events: Vec<WatchEvent>,
    /// Every revision up to this one has been considered.
    through: Revision,
    caught_up: bool,
}

/// Starts a watch of `filter` after `after`, with `rx` already subscribed.
pub(super) fn stream(
    inner: Arc<Inner>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
    after: Revision,
) -> WatchStream {
    items(inner, filter, rx, after, false)
        .filter_map(|item| async move {
            match item {
                Ok(WatchItem::Event(event)) => Some(Ok(event)),
                Ok(WatchItem::Progress(_)) => None,
                Err(err) => Some(Err(err)),
            }
        })
        .boxed()
}

/// [`stream`] with progress reports (at most one per [`PROGRESS_EVERY`]).
pub(super) fn progress_stream(
    inner: Arc<Inner>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
    after: Revision,
) -> ProgressStream {
    items(inner, filter, rx, after, true)
}

fn items(
    inner: Arc<Inner>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
    after: Revision,
    progress: bool,
) -> ProgressStream {
    let state = State {
        inner,
        filter,
        rx,
        cursor: after,
        pending: VecDeque::new(),
        phase: Phase::Replay,
        progress,
        reported: after,
        reported_at: Instant::now(),
    };
    futures::stream::unfold(state, step).boxed()
}

async fn step(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(event) = st.pending.pop_front() {
            return Some((Ok(WatchItem::Event(event)), st));
        }
        if let Some(progress) = st.progress_due() {
            return Some((Ok(progress), st));
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
            Phase::Live => match st.receive().await {
                None => {} // a progress report fell due
                Some(Ok(event)) => {
                    let rev = event.revision();
                    if rev > st.cursor {
                        st.cursor = rev;
                        if st.filter.matches(event_key(&event)) {
                            return Some((Ok(WatchItem::Event(WatchEvent::clone(&event))), st));
                        }
                    }
                }
                Some(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(
                        missed,
                        cursor = st.cursor,
                        "watch lagged; replaying from history"
                    );
                    st.phase = Phase::Replay;
                }
                Some(Err(RecvError::Closed)) => st.phase = Phase::Done,
            },
        }
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
