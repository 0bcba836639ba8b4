//! Watches on the embedded store: replay from history, then live events from the broadcast.
//!
//! A watch subscribes to the broadcast *before* it reads history, so no commit can fall between
//! the two. It then keeps one `cursor`: the highest revision it has fully considered. Replay reads
//! history in batches above the cursor until it reaches the snapshot's current revision; live
//! events at or below the cursor are duplicates of replayed ones and are skipped. If the receiver
//! lags (the broadcast overwrote events it had not read), the watch goes back to replaying from
//! the cursor, so nothing is lost; only compaction past the cursor ends it (`Compacted`).
//!
//! A watch with progress reports its cursor as a [`WatchItem::Progress`] (every change up to it
//! considered, the matching ones handed out):
//! * periodically, at most once per [`PROGRESS_EVERY`] and only when the cursor moved, including
//!   the last move before a quiet spell (a timer wakes the watch for it);
//! * on request, once the cursor has reached the revision that was current when the request came
//!   (the commit that made it current is broadcast right after, so the watch soon sees it).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::{Inner, read};
pub(super) use crate::storage::filter::Filter;
use crate::storage::{ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem};

/// How many history entries one replay step reads (one blocking task each).
pub(super) const REPLAY_BATCH: usize = 1024;

/// The least time between two periodic progress reports of one watch: the cursor moves with
/// every commit to any key, and bookmarks (a minute apart) need only a recent one.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

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
    /// Progress requests, on a watch with progress (`None`: a plain watch, which reports none).
    requests: Option<Arc<Notify>>,
    /// The revision a requested progress report must reach.
    progress_at: Option<Revision>,
    /// The last progress report: its revision and when it went out.
    reported: Revision,
    reported_at: Instant,
}

impl State {
    /// A progress report of the cursor, when one is requested and the cursor got there, or a
    /// periodic one is due.
    fn progress_due(&mut self) -> Option<WatchItem> {
        self.requests.as_ref()?;
        let now = Instant::now();
        let requested = self.progress_at.is_some_and(|at| self.cursor >= at);
        let periodic =
            self.cursor > self.reported && now.duration_since(self.reported_at) >= PROGRESS_EVERY;
        if !requested && !periodic {
            return None;
        }
        if requested {
            self.progress_at = None;
        }
        self.reported = self.cursor;
        self.reported_at = now;
        Some(WatchItem::Progress(self.cursor))
    }
}

/// One replay step's outcome.
struct Replayed {
    events: Vec<WatchEvent>,
    /// Every revision up to this one has been considered.
    through: Revision,
    caught_up: bool,
}

/// Starts a watch of `filter` after `after`, with `rx` already subscribed: with `requests`, a
/// watch with progress (periodic, and answering those requests), else a plain one.
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
        reported: after,
        reported_at: Instant::now(),
    };
    futures::stream::unfold(state, step).boxed()
}

/// What a live watch waits for.
enum Live {
    Event(std::result::Result<Arc<WatchEvent>, RecvError>),
    ProgressRequest,
    /// A periodic progress report fell due.
    ProgressDue,
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
            Phase::Live => match next_live(&mut st).await {
                Live::ProgressDue => {}
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

/// The next broadcast event, a progress request (looked at first: requests are rare, and a busy
/// broadcast must not starve them), or, when the cursor moved since the last report, the time the
/// next periodic one falls due (so that the last change before a quiet spell is reported too).
async fn next_live(st: &mut State) -> Live {
    let Some(requests) = &st.requests else {
        return Live::Event(st.rx.recv().await);
    };
    let due = (st.cursor > st.reported).then(|| st.reported_at + PROGRESS_EVERY);
    // `recv` and `notified` are cancel safe: what they had not returned stays for next time.
    tokio::select! {
        biased;
        () = requests.notified() => Live::ProgressRequest,
        event = st.rx.recv() => Live::Event(event),
        () = sleep_until(due) => Live::ProgressDue,
    }
}

/// Sleeps until `due`, or for ever without one.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
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
