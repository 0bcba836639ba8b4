//! Adapting an etcd watch stream to [`WatchStream`].

use std::collections::VecDeque;

use futures::StreamExt;

use super::{
    convert,
    errors::{Op, classify},
};
use crate::storage::{Result, Revision, StorageError, WatchEvent, WatchStream};

struct State {
    stream: etcd_client::WatchStream,
    after: Revision,
    pending: VecDeque<WatchEvent>,
    done: bool,
}

/// Follows `stream` (started at `after + 1` with `prev_kv`), ending with `Compacted` if etcd
/// cancels it for compaction and with `Unavailable` if the connection drops.
pub(super) fn stream(stream: etcd_client::WatchStream, after: Revision) -> WatchStream {
    let state = State {
        stream,
        after,
        pending: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, step).boxed()
}

async fn step(mut st: State) -> Option<(Result<WatchEvent>, State)> {
    loop {
        if let Some(event) = st.pending.pop_front() {
            return Some((Ok(event), st));
        }
        if st.done {
            return None;
        }
        let failure = match st.stream.message().await {
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
        st.pending.push_back(convert_event(event)?);
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
