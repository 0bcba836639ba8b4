//! Adapting an etcd watch stream to [`WatchStream`].

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::{Interval, MissedTickBehavior};

use super::{
    convert,
    errors::{Op, classify},
};
use crate::storage::{
    ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem, WatchStream,
};

/// How often a watch with progress asks etcd for a progress notification (kube's cacher asks
/// when it needs one; bookmarks, a minute apart, need only a recent revision).
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

struct State {
    stream: etcd_client::WatchStream,
    after: Revision,
    pending: VecDeque<WatchItem>,
    done: bool,
    /// When to ask for the next progress notification, on a watch with progress.
    progress: Option<Interval>,
}

/// Follows `stream` (started at `after + 1` with `prev_kv`), ending with `Compacted` if etcd
/// cancels it for compaction and with `Unavailable` if the connection drops.
pub(super) fn stream(stream: etcd_client::WatchStream, after: Revision) -> WatchStream {
    items(stream, after, None)
        .filter_map(|item| async move {
            match item {
                Ok(WatchItem::Event(event)) => Some(Ok(event)),
                Ok(WatchItem::Progress(_)) => None,
                Err(err) => Some(Err(err)),
            }
        })
        .boxed()
}

/// [`stream`] with progress: etcd is asked for a progress notification every
/// [`PROGRESS_EVERY`], and answers, once this watch has sent everything up to its current
/// revision, with an event-less response carrying that revision.
pub(super) fn progress_stream(stream: etcd_client::WatchStream, after: Revision) -> ProgressStream {
    let mut every =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    items(stream, after, Some(every))
}

fn items(
    stream: etcd_client::WatchStream,
    after: Revision,
    progress: Option<Interval>,
) -> ProgressStream {
    let state = State {
        stream,
        after,
        pending: VecDeque::new(),
        done: false,
        progress,
    };
    futures::stream::unfold(state, step).boxed()
}

async fn step(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((Ok(item), st));
        }
        if st.done {
            return None;
        }
        let message = match st.progress.as_mut() {
            Some(every) => tokio::select! {
                message = st.stream.message() => message,
                _ = every.tick() => {
                    // A lost request only delays the next report.
                    if let Err(err) = st.stream.request_progress().await {
                        tracing::debug!(%err, "etcd watch progress request failed");
                    }
                    continue;
                }
            },
            None => st.stream.message().await,
        };
        let failure = match message {
            Ok(Some(resp)) => match absorb(&mut st, &resp) {
                Ok(()) => continue,
                Err(err) => err,
            },
            Ok(None) => StorageError::Unavailable("etcd closed the watch stream".into()),
            Err(err) => classify(err, Op::Read { revision: st.after }),
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
    for event in resp.events() {
        st.pending
            .push_back(WatchItem::Event(convert_event(event)?));
    }
    // A progress notification: no events, not the creation answer (whose revision comes before
    // any history the watch still has to send).
    if resp.events().is_empty() && !resp.created() {
        if let Some(header) = resp.header() {
            st.pending.push_back(WatchItem::Progress(header.revision()));
        }
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
