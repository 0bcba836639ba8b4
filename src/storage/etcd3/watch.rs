//! Adapting an etcd watch stream to [`WatchStream`] (and [`ProgressStream`]).
//!
//! A watch that takes progress requests forwards each to etcd (`WatchProgressRequest`); etcd
//! answers on the same stream, once every event up to its current revision has been sent, with a
//! response carrying no events whose header revision is that revision.

use std::collections::VecDeque;
use std::sync::Arc;

use etcd_client::{WatchRequestSender, WatchResponseStream};
use futures::StreamExt;
use tokio::sync::Notify;

use super::{
    convert,
    errors::{Op, classify},
};
use crate::storage::{ProgressStream, Result, Revision, StorageError, WatchEvent, WatchItem};

struct State {
    /// Kept open for progress requests; dropping it would half-close the gRPC stream.
    sender: WatchRequestSender,
    responses: WatchResponseStream,
    after: Revision,
    pending: VecDeque<WatchItem>,
    requests: Option<Arc<Notify>>,
    done: bool,
}

/// Follows `stream` (started at `after + 1` with `prev_kv`), ending with `Compacted` if etcd
/// cancels it for compaction and with `Unavailable` if the connection drops; progress
/// `requests`, if given, are forwarded to etcd and answered with [`WatchItem::Progress`].
pub(super) fn stream(
    stream: etcd_client::WatchStream,
    after: Revision,
    requests: Option<Arc<Notify>>,
) -> ProgressStream {
    let (sender, responses) = stream.split();
    let state = State {
        sender,
        responses,
        after,
        pending: VecDeque::new(),
        requests,
        done: false,
    };
    futures::stream::unfold(state, step).boxed()
}

/// What the watch waits for.
enum Next {
    Response(Result<Option<etcd_client::WatchResponse>, etcd_client::Error>),
    ProgressRequest,
}

async fn step(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(item) = st.pending.pop_front() {
            return Some((Ok(item), st));
        }
        if st.done {
            return None;
        }
        let next = match &st.requests {
            Some(requests) => tokio::select! {
                biased;
                () = requests.notified() => Next::ProgressRequest,
                resp = st.responses.message() => Next::Response(resp),
            },
            None => Next::Response(st.responses.message().await),
        };
        let failure = match next {
            Next::ProgressRequest => match st.sender.request_progress().await {
                Ok(()) => continue,
                Err(err) => classify(err, Op::Read { revision: st.after }),
            },
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
    if resp.events().is_empty() && !resp.created() && st.requests.is_some() {
        // A progress notification: everything up to the header revision has been sent.
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
