//! What one cached prefix holds (kube's `watchCache`): every object under it as of a revision,
//! and a window of the most recent events, from which watches are served and resumed.
//!
//! The window keeps every event after `window_start`. It holds at least [`WindowLimits::min`]
//! events, everything younger than [`WindowLimits::fresh`], and never more than
//! [`WindowLimits::max`] (kube: 100, 75 s and 102,400). A watch may start at any revision from
//! `window_start` on; an older one is refused, as kube's cacher answers 410 "too old resource
//! version" outside its window.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::time::Duration;

use tokio::time::Instant;

pub(super) use crate::storage::filter::Filter;
use crate::storage::range::KeyRange;
use crate::storage::{KeyValue, ListResponse, Revision, WatchEvent};

/// How many recent events a cached prefix keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    /// Events kept however old they are.
    pub min: usize,
    /// Events kept at most, however young they are.
    pub max: usize,
    /// Events younger than this are kept (up to `max`), so a watch that reconnects within it can
    /// resume.
    pub fresh: Duration,
}

impl Default for WindowLimits {
    /// kube's: at least 100 events and 75 s (`eventFreshDuration`), at most 102,400 events.
    fn default() -> Self {
        Self {
            min: 100,
            max: 100 * 1024,
            fresh: Duration::from_secs(75),
        }
    }
}

/// One event of the window, with when it arrived.
struct Entry {
    at: Instant,
    event: WatchEvent,
}

/// What a watcher reads from the window.
#[derive(Debug, PartialEq)]
pub(super) enum Read {
    /// The matching events after the cursor (maybe none), and the revision read through.
    Events {
        events: Vec<WatchEvent>,
        through: Revision,
    },
    /// Events after the cursor have left the window (the watcher was too slow, or the cache
    /// had to list again): the watch cannot go on.
    Behind { window_start: Revision },
    /// The cache is gone.
    Closed,
}

/// The cached objects and event window of one prefix.
pub(super) struct State {
    /// Whether `objects` is a complete snapshot (not yet, or not while listing again).
    pub ready: bool,
    /// Set when the cacher is dropped; watchers end.
    pub closed: bool,
    /// Every change up to this revision has been applied.
    pub revision: Revision,
    /// The revision of the newest event applied; the state is the same at every revision from
    /// here to `revision`.
    last_event: Revision,
    objects: BTreeMap<String, KeyValue>,
    window: VecDeque<Entry>,
    /// Every event after this revision is in the window.
    window_start: Revision,
    /// The newest revision compacted through the cacher: nothing older is served.
    compacted: Revision,
    limits: WindowLimits,
}

impl State {
    /// An empty, not yet ready state.
    pub(super) fn new(limits: WindowLimits) -> Self {
        Self {
            ready: false,
            closed: false,
            revision: 0,
            last_event: 0,
            objects: BTreeMap::new(),
            window: VecDeque::new(),
            window_start: 0,
            compacted: 0,
            limits,
        }
    }

    /// Replaces everything with a list read at `revision`; the window starts over from there.
    pub(super) fn reset(&mut self, items: Vec<KeyValue>, revision: Revision) {
        self.objects = items.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
        self.window.clear();
        self.window_start = revision;
        self.revision = revision;
        self.last_event = revision;
        self.ready = true;
    }

    /// Applies the next change (changes come in revision order) and trims the window.
    pub(super) fn apply(&mut self, event: WatchEvent, now: Instant) {
        let revision = event.revision();
        match &event {
            WatchEvent::Put { kv, .. } => {
                self.objects.insert(kv.key.clone(), kv.clone());
            }
            WatchEvent::Delete { key, .. } => {
                self.objects.remove(key);
            }
        }
        self.window.push_back(Entry { at: now, event });
        self.revision = self.revision.max(revision);
        self.last_event = revision;
        self.trim(now);
    }

    /// Records that every change up to `revision` has been applied; whether that is news.
    pub(super) fn progress(&mut self, revision: Revision) -> bool {
        let news = revision > self.revision;
        self.revision = self.revision.max(revision);
        news
    }

    /// Records a compaction made through the cacher.
    pub(super) fn compacted(&mut self, revision: Revision) {
        self.compacted = self.compacted.max(revision);
    }

    fn trim(&mut self, now: Instant) {
        while let Some(front) = self.window.front() {
            let len = self.window.len();
            let stale = len > self.limits.min && now.duration_since(front.at) > self.limits.fresh;
            if len <= self.limits.max && !stale {
                break;
            }
            self.window_start = front.event.revision();
            self.window.pop_front();
        }
    }

    /// Whether a read at `revision` sees exactly the current objects: the state is complete, no
    /// event came after `revision`, and `revision` is neither compacted nor ahead of the cache.
    pub(super) fn serves_at(&self, revision: Revision) -> bool {
        self.ready
            && self.last_event <= revision
            && revision <= self.revision
            && revision >= self.compacted
    }

    /// The objects in `range` (in key order, at most its limit), read at `revision` (which the
    /// caller checked with [`State::serves_at`], or the current one).
    pub(super) fn list(&self, range: &KeyRange<'_>, revision: Revision) -> ListResponse {
        let mut iter = self.objects.range::<str, _>((
            Bound::Included(range.start),
            Bound::Excluded(range.end.as_str()),
        ));
        let mut items = Vec::new();
        while !range.full(items.len()) {
            match iter.next() {
                Some((_, kv)) => items.push(kv.clone()),
                None => break,
            }
        }
        let remaining = iter.count() as i64;
        ListResponse {
            items,
            revision,
            more: remaining > 0,
            remaining: Some(remaining),
        }
    }

    /// Why a watch cannot start after `after`, if it cannot: that revision was compacted through
    /// the cacher, or events after it have left the window. Either is `(requested, compacted)`
    /// for [`StorageError::Compacted`](crate::storage::StorageError::Compacted).
    pub(super) fn refuses_watch_after(&self, after: Revision) -> Option<(Revision, Revision)> {
        if after < self.compacted {
            Some((after, self.compacted))
        } else if after < self.window_start {
            Some((after, self.window_start))
        } else {
            None
        }
    }

    /// The events after `cursor` that `filter` selects, scanning at most about `max` events
    /// (never splitting one revision's events). A read that reaches the end of the window has
    /// read through the state's revision, which progress notifications move past the last event.
    pub(super) fn read_after(&self, cursor: Revision, filter: &Filter, max: usize) -> Read {
        if self.closed {
            return Read::Closed;
        }
        if cursor < self.window_start {
            return Read::Behind {
                window_start: self.window_start,
            };
        }
        let first = self
            .window
            .partition_point(|e| e.event.revision() <= cursor);
        let mut events = Vec::new();
        let mut through = cursor;
        for (scanned, entry) in self.window.range(first..).enumerate() {
            let revision = entry.event.revision();
            if scanned >= max && revision > through {
                return Read::Events { events, through };
            }
            if filter.matches(event_key(&entry.event)) {
                events.push(entry.event.clone());
            }
            through = revision;
        }
        let through = through.max(self.revision);
        Read::Events { events, through }
    }
}

/// The key an event is about.
fn event_key(event: &WatchEvent) -> &str {
    match event {
        WatchEvent::Put { kv, .. } => &kv.key,
        WatchEvent::Delete { key, .. } => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ListRequest;

    fn kv(key: &str, rev: Revision) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: format!("{key}@{rev}").into_bytes(),
            create_revision: rev,
            mod_revision: rev,
        }
    }

    fn put(key: &str, rev: Revision) -> WatchEvent {
        WatchEvent::Put {
            kv: kv(key, rev),
            prev: None,
        }
    }

    fn delete(key: &str, rev: Revision, prev: Revision) -> WatchEvent {
        WatchEvent::Delete {
            key: key.into(),
            revision: rev,
            prev: kv(key, prev),
        }
    }

    fn limits(min: usize, max: usize, fresh: u64) -> WindowLimits {
        WindowLimits {
            min,
            max,
            fresh: Duration::from_secs(fresh),
        }
    }

    fn keys(resp: &ListResponse) -> Vec<&str> {
        resp.items.iter().map(|kv| kv.key.as_str()).collect()
    }

    fn list(
        state: &State,
        prefix: &str,
        start: Option<&str>,
        limit: Option<usize>,
    ) -> ListResponse {
        let req = ListRequest {
            prefix: prefix.into(),
            start_key: start.map(Into::into),
            limit,
            ..Default::default()
        };
        state.list(&KeyRange::of(&req).unwrap(), state.revision)
    }

    fn read(
        state: &State,
        cursor: Revision,
        filter: &str,
        max: usize,
    ) -> (Vec<Revision>, Revision) {
        match state.read_after(cursor, &Filter::new(filter), max) {
            Read::Events { events, through } => {
                (events.iter().map(WatchEvent::revision).collect(), through)
            }
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[test]
    fn applied_events_change_objects_and_lists_page_within_the_prefix() {
        let now = Instant::now();
        let mut state = State::new(WindowLimits::default());
        state.reset(vec![kv("/p/ns1/a", 2), kv("/p/ns10/x", 3)], 5);
        state.apply(put("/p/ns1/b", 6), now);
        state.apply(put("/p/ns1/c", 7), now);
        state.apply(delete("/p/ns1/a", 8, 2), now);
        assert!(state.progress(10));
        assert!(!state.progress(9));
        assert_eq!(state.revision, 10);

        let all = list(&state, "/p/ns1/", None, None);
        assert_eq!(keys(&all), ["/p/ns1/b", "/p/ns1/c"]);
        assert_eq!(
            (all.revision, all.more, all.remaining),
            (10, false, Some(0))
        );
        let page = list(&state, "/p/", None, Some(2));
        assert_eq!(keys(&page), ["/p/ns1/b", "/p/ns1/c"]);
        assert_eq!((page.more, page.remaining), (true, Some(1)));
        let next = list(&state, "/p/", Some("/p/ns1/c\0"), Some(2));
        assert_eq!(keys(&next), ["/p/ns10/x"]);
        assert!(!next.more);
    }

    #[test]
    fn reads_at_a_revision_are_served_only_when_nothing_changed_since() {
        let now = Instant::now();
        let mut state = State::new(WindowLimits::default());
        assert!(!state.serves_at(0), "not ready");
        state.reset(Vec::new(), 5);
        state.apply(put("/p/a", 7), now);
        state.progress(9);
        assert!(!state.serves_at(6), "a change came after 6");
        assert!(state.serves_at(7) && state.serves_at(9));
        assert!(!state.serves_at(10), "ahead of the cache");
        state.compacted(8);
        assert!(!state.serves_at(7) && state.serves_at(8));
    }

    #[test]
    fn watchers_read_matching_events_after_their_cursor_in_bounded_batches() {
        let now = Instant::now();
        let mut state = State::new(WindowLimits::default());
        state.reset(Vec::new(), 1);
        for (i, key) in ["/p/a", "/p/ab", "/p/a/child", "/p/a", "/p/b"]
            .iter()
            .enumerate()
        {
            state.apply(put(key, i as Revision + 2), now);
        }
        assert_eq!(read(&state, 1, "/p/", 100), (vec![2, 3, 4, 5, 6], 6));
        assert_eq!(read(&state, 3, "/p/a", 100), (vec![5], 6));
        assert_eq!(read(&state, 1, "/p/a/", 100), (vec![4], 6));
        // A batch stops after `max` events scanned; the next read goes on from there.
        assert_eq!(read(&state, 1, "/p/b", 2), (vec![], 3));
        assert_eq!(read(&state, 3, "/p/b", 2), (vec![], 5));
        assert_eq!(read(&state, 5, "/p/b", 2), (vec![6], 6));
        assert_eq!(read(&state, 6, "/p/", 2), (vec![], 6));
        assert_eq!(read(&state, 40, "/p/", 2), (vec![], 40));
        // Progress past the last event: a read that reaches the end of the window goes through
        // it (a watcher with progress reports it); a batch that stops early does not.
        state.progress(9);
        assert_eq!(read(&state, 6, "/p/", 2), (vec![], 9));
        assert_eq!(read(&state, 5, "/p/b", 2), (vec![6], 9));
        assert_eq!(read(&state, 1, "/p/b", 2), (vec![], 3));
    }

    #[test]
    fn a_batch_never_splits_a_revision() {
        let now = Instant::now();
        let mut state = State::new(WindowLimits::default());
        state.reset(Vec::new(), 1);
        state.apply(put("/p/a", 2), now);
        state.apply(put("/p/b", 2), now);
        state.apply(put("/p/c", 3), now);
        assert_eq!(read(&state, 1, "/p/", 1), (vec![2, 2], 2));
    }

    #[test]
    fn the_window_keeps_fresh_events_and_refuses_what_it_dropped() {
        let start = Instant::now();
        let mut state = State::new(limits(2, 4, 60));
        state.reset(Vec::new(), 10);
        assert_eq!(state.refuses_watch_after(9), Some((9, 10)));
        assert_eq!(state.refuses_watch_after(10), None);
        for rev in 11..=14 {
            state.apply(put("/p/a", rev), start);
        }
        assert_eq!(state.refuses_watch_after(10), None, "four fit");
        state.apply(put("/p/a", 15), start);
        assert_eq!(
            state.refuses_watch_after(10),
            Some((10, 11)),
            "at most four"
        );
        assert_eq!(state.refuses_watch_after(11), None);
        assert_eq!(
            state.read_after(10, &Filter::new("/p/"), 10),
            Read::Behind { window_start: 11 }
        );
        // Old events go down to the minimum once they are stale.
        state.apply(put("/p/a", 16), start + Duration::from_secs(61));
        assert_eq!(state.refuses_watch_after(13), Some((13, 14)));
        assert_eq!(state.refuses_watch_after(14), None);
        // A compaction through the cacher refuses what it removed.
        state.compacted(15);
        assert_eq!(state.refuses_watch_after(14), Some((14, 15)));
        // Listing again starts the window over.
        state.reset(vec![kv("/p/a", 16)], 20);
        assert_eq!(state.refuses_watch_after(16), Some((16, 20)));
        assert_eq!(
            state.read_after(16, &Filter::new("/p/"), 10),
            Read::Behind { window_start: 20 }
        );
        state.closed = true;
        assert_eq!(state.read_after(20, &Filter::new("/p/"), 10), Read::Closed);
    }
}
