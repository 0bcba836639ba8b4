//! Adapting an etcd watch stream to [`ProgressStream`] (and so [`WatchStream`]).
//!
//! A watch with progress asks etcd for a progress notification (`WatchProgressRequest`, on the
//! watch's own stream) every [`PROGRESS_EVERY`], so that a quiet watch's bookmarks follow the
//! store, and whenever its `requests` are notified (the watch cache's consistent reads). etcd
//! answers on the same stream, once every event up to its current revision has been sent, with a
//! response carrying no events whose header revision is that revision.
//!
//! [`WatchStream`]: crate::storage::WatchStream

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{WatchRequestSender, WatchResponseStream};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::time::{Interval, MissedTickBehavior};

use super::{
    convert,
    errors::{Op, classify},
};
use crate::storage::{ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem};

/// How often a watch with progress asks etcd for a progress notification unrequested (kube's
/// cacher asks when it needs one; bookmarks, a minute apart, need only a recent revision).
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

struct State {
    /// Kept open for progress requests; dropping it would half-close the gRPC stream.
    sender: WatchRequestSender,
    responses: WatchResponseStream,
    after: Revision,
    pending: VecDeque<WatchItem>,
    /// On a watch with progress: its requests, and when to ask unrequested.
    progress: Option<(Arc<Notify>, Interval)>,
    done: bool,
}

/// Follows `stream` (started at `after + 1` with `prev_kv`), ending with `Compacted` if etcd
/// cancels it for compaction and with `Unavailable` if the connection drops. With `requests`, a
/// watch with progress: etcd is asked for a progress notification every [`PROGRESS_EVERY`] and
/// whenever `requests` is notified, and its answers become [`WatchItem::Progress`].
pub(super) fn stream(
    stream: etcd_client::WatchStream,
    after: Revision,
    requests: Option<Arc<Notify>>,
) -> ProgressStream {
    let (sender, responses) = stream.split();
    let progress = requests.map(|requests| {
        let start = tokio::time::Instant::now() + PROGRESS_EVERY;
        let mut every = tokio::time::interval_at(start, PROGRESS_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        (requests, every)
    });
    let state = State {
        sender,
        responses,
        after,
        pending: VecDeque::new(),
        progress,
        done: false,
    };
    futures::stream::unfold(state, step).boxed()
}

/// What the watch waits for.
enum Next {
    Response(Result<Option<etcd_client::WatchResponse>, etcd_client::Error>),
    /// Time to ask etcd for progress (requested, or periodically).
    AskProgress,
}

async fn step(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((Ok(item), st));
        }
        if st.done {
            return None;
        }
        let next = match st.progress.as_mut() {
            // Requests first: they are rare, and a busy watch must not starve them.
            Some((requests, every)) => tokio::select! {
                biased;
                () = requests.notified() => Next::AskProgress,
                resp = st.responses.message() => Next::Response(resp),
                _ = every.tick() => Next::AskProgress,
            },
            None => Next::Response(st.responses.message().await),
        };
        let failure = match next {
            Next::AskProgress => {
                // A lost request only delays a report; a broken stream ends in `message`.
                if let Err(err) = st.sender.request_progress().await {
                    tracing::debug!(%err, "etcd watch progress request failed");
                }
                continue;
            }
            Next::Response(Ok(Some(resp))) => match absorb(&mut st, &resp) {
                Ok(()) => continue,
                Err(err) => err,
            },
            Next::Response(Ok(None)) => {
                StorageError::Unavailable("etcd closed the watch stream".into())
            }
            Next::Response(Err(err)) => classify(err, Op::Read { revision: st.after }),
        };
        st.done = true;
        return Some((Err(failure), st));
    }
}

/// Queues the events of one watch response; an error if the response cancels the watch.
fn absorb(st: &mut State, resp: &etcd_client::WatchResponse) -> Result<()> {
    if resp.compact_revision() > 0 {
        return Err(StorageError::Compacted {
            requested: st.after,
            compacted: resp.compact_revision(),
        });
    }
    if resp.canceled() {
        return Err(StorageError::Unavailable(format!(
            "etcd canceled the watch: {}",
            resp.cancel_reason()
        )));
    }
    // A progress notification: no events, and not the creation answer (whose revision comes
    // before any history the watch still has to send). Everything up to the header revision has
    // been sent. A plain watch drops it (`events_only`).
    if resp.events().is_empty() && !resp.created() {
        if let Some(header) = resp.header() {
            st.pending.push_back(WatchItem::Progress(header.revision()));
        }
        return Ok(());
    }
    for event in resp.events() {
        st.pending
            .push_back(WatchItem::Event(convert_event(event)?));
    }
    Ok(())
}

fn convert_event(event: &etcd_client::Event) -> Result<WatchEvent> {
    let kv = event
        .kv()
        .ok_or_else(|| StorageError::Internal("etcd watch event without a key-value".into()))?;
    let prev = event.prev_kv().map(convert).transpose()?;
    match event.event_type() {
        etcd_client::EventType::Put => Ok(WatchEvent::Put {
            kv: convert(kv)?,
            prev,
        }),
        etcd_client::EventType::Delete => {
            let kv = convert(kv)?;
            let prev = prev.ok_or_else(|| {
                StorageError::Internal(format!("etcd deletion of {} without prev_kv", kv.key))
            })?;
            Ok(WatchEvent::Delete {
                key: kv.key,
                revision: kv.mod_revision,
                prev,
            })
        }
    }
}
