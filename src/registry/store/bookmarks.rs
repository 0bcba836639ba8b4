//! Periodic bookmarks, as kube's cacher sends them to watchers that allow bookmarks: about every
//! minute, and once more two seconds before the watch's deadline, each carrying the newest
//! resourceVersion the watch has seen. A client that reconnects after a quiet period (or after
//! its watch timed out) resumes from there instead of from an old revision that may have been
//! compacted, which would cost it a full relist.
//!
//! The resourceVersion is the revision of the last storage change this watch observed, including
//! changes its selectors filtered out, or the progress storage reported past it (every change to
//! the watched keys up to there delivered; `Storage::watch_with_progress`, also through the watch
//! cache), so that a quiet resource's bookmarks move on with the store as kube's do: storage
//! delivers changes in revision order, so no event at or below it can follow, which is the one
//! promise a bookmark makes.

use std::pin::Pin;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use serde_json::Value;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::registry::{WatchEvent, WatchEvents};

/// kube's `defaultBookmarkFrequency`: frequent enough that the resourceVersion a reconnecting
/// client holds is still inside the (at least five-minute) history the store keeps.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// How close to the deadline the last bookmark goes out (kube: 2 s).
const BEFORE_DEADLINE: Duration = Duration::from_secs(2);

/// One storage change as a watch sees it: the revision it happened at (`None` for a storage
/// failure) and the event it becomes, if the watch's selectors let it through.
pub(super) struct Progress {
    pub revision: Option<i64>,
    pub event: Option<WatchEvent>,
}

/// When bookmarks go out.
#[derive(Clone, Copy, Debug)]
pub(super) struct Schedule {
    /// The time between bookmarks.
    pub interval: Duration,
    /// When the watch ends (from `timeoutSeconds`), if known.
    pub deadline: Option<Instant>,
}

impl Schedule {
    /// The next bookmark time after `now`: an interval on, or just before the deadline if that
    /// comes first; none once that moment has passed (kube's `nextBookmarkTime`).
    fn next_after(&self, now: Instant) -> Option<Instant> {
        let mut next = now + self.interval;
        if let Some(deadline) = self.deadline {
            let last = deadline.checked_sub(BEFORE_DEADLINE).unwrap_or(deadline);
            next = next.min(last);
        }
        (next > now).then_some(next)
    }
}

struct State<F> {
    changes: BoxStream<'static, Progress>,
    revision: i64,
    schedule: Option<Schedule>,
    timer: Option<Pin<Box<Sleep>>>,
    bookmark: F,
    ended: bool,
}

enum Next {
    Change(Option<Progress>),
    Tick,
}

/// The events of `changes`, ending after an ERROR; with a `schedule`, bookmarks (objects that
/// `bookmark` builds from a revision) in between. `start` is the revision the watch starts after.
pub(super) fn interleave<F>(
    changes: BoxStream<'static, Progress>,
    start: i64,
    schedule: Option<Schedule>,
    bookmark: F,
) -> WatchEvents
where
    F: Fn(i64) -> Value + Send + 'static,
{
    let timer = schedule
        .and_then(|s| s.next_after(Instant::now()))
        .map(|at| Box::pin(sleep_until(at)));
    let state = State {
        changes,
        revision: start,
        schedule,
        timer,
        bookmark,
        ended: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if st.ended {
                return None;
            }
            // Changes first: a bookmark must not overtake an event that is already waiting.
            let next = match st.timer.as_mut() {
                Some(timer) => tokio::select! {
                    biased;
                    change = st.changes.next() => Next::Change(change),
                    () = timer.as_mut() => Next::Tick,
                },
                None => Next::Change(st.changes.next().await),
            };
            match next {
                Next::Change(None) => return None,
                Next::Change(Some(progress)) => {
                    if let Some(revision) = progress.revision {
                        st.revision = st.revision.max(revision);
                    }
                    if let Some(event) = progress.event {
                        st.ended = matches!(event, WatchEvent::Error(_));
                        return Some((event, st));
                    }
                }
                Next::Tick => {
                    st.timer = st
                        .schedule
                        .and_then(|s| s.next_after(Instant::now()))
                        .map(|at| Box::pin(sleep_until(at)));
                    let event = WatchEvent::Bookmark((st.bookmark)(st.revision));
                    return Some((event, st));
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;
    use serde_json::json;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::UnboundedReceiverStream;

    fn bookmark(revision: i64) -> Value {
        json!({"metadata": {"resourceVersion": revision.to_string()}})
    }

    fn feed() -> (
        mpsc::UnboundedSender<Progress>,
        BoxStream<'static, Progress>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, UnboundedReceiverStream::new(rx).boxed())
    }

    fn added(name: &str) -> WatchEvent {
        WatchEvent::Added(json!({"metadata": {"name": name}}))
    }

    /// The next event, or `None` if nothing arrives within `wait` of (paused) time.
    async fn within(events: &mut WatchEvents, wait: Duration) -> Option<WatchEvent> {
        tokio::time::timeout(wait, events.next())
            .await
            .ok()
            .flatten()
    }

    fn every_minute() -> Option<Schedule> {
        Some(Schedule {
            interval: DEFAULT_BOOKMARK_INTERVAL,
            deadline: None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_bookmark_every_interval_carries_the_newest_revision_seen() {
        let (tx, changes) = feed();
        let mut events = interleave(changes, 7, every_minute(), bookmark);
        let started = Instant::now();
        assert_eq!(
            within(&mut events, Duration::from_secs(61)).await,
            Some(WatchEvent::Bookmark(bookmark(7)))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(60));

        tx.send(Progress {
            revision: Some(9),
            event: Some(added("a")),
        })
        .unwrap();
        assert_eq!(
            within(&mut events, Duration::from_secs(1)).await,
            Some(added("a"))
        );
        // A change the selectors dropped still moves the watch forward.
        tx.send(Progress {
            revision: Some(12),
            event: None,
        })
        .unwrap();
        assert_eq!(within(&mut events, Duration::from_secs(59)).await, None);
        assert_eq!(
            within(&mut events, Duration::from_secs(2)).await,
            Some(WatchEvent::Bookmark(bookmark(12)))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(120));
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_bookmark_goes_out_two_seconds_before_the_deadline() {
        let (_tx, changes) = feed();
        let schedule = Schedule {
            interval: DEFAULT_BOOKMARK_INTERVAL,
            deadline: Some(Instant::now() + Duration::from_secs(90)),
        };
        let started = Instant::now();
        let mut events = interleave(changes, 3, Some(schedule), bookmark);
        assert!(matches!(
            within(&mut events, Duration::from_secs(61)).await,
            Some(WatchEvent::Bookmark(_))
        ));
        assert!(matches!(
            within(&mut events, Duration::from_secs(60)).await,
            Some(WatchEvent::Bookmark(_))
        ));
        assert_eq!(started.elapsed(), Duration::from_secs(88));
        assert_eq!(within(&mut events, Duration::from_secs(600)).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_schedule_only_changes_flow_and_an_error_ends_the_stream() {
        let (tx, changes) = feed();
        let mut events = interleave(changes, 1, None, bookmark);
        assert_eq!(within(&mut events, Duration::from_secs(600)).await, None);
        tx.send(Progress {
            revision: None,
            event: Some(WatchEvent::Error(ApiError::internal("boom"))),
        })
        .unwrap();
        tx.send(Progress {
            revision: Some(2),
            event: Some(added("late")),
        })
        .unwrap();
        assert!(matches!(events.next().await, Some(WatchEvent::Error(_))));
        assert_eq!(events.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_changes_go_before_a_due_bookmark() {
        let (tx, changes) = feed();
        let mut events = interleave(changes, 1, every_minute(), bookmark);
        tokio::time::advance(Duration::from_secs(61)).await;
        tx.send(Progress {
            revision: Some(5),
            event: Some(added("first")),
        })
        .unwrap();
        assert_eq!(events.next().await, Some(added("first")));
        assert_eq!(events.next().await, Some(WatchEvent::Bookmark(bookmark(5))));
    }
}
