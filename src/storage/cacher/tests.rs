//! The cacher over an embedded store seen through a spy that counts what reaches the backend and
//! can break the upstream watch. The storage contract suite checks the results are the backend's;
//! these check where they come from.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use tokio::time::timeout;

use super::*;
use crate::storage::embedded::EmbeddedStorage;
use crate::storage::{WatchEvent, WatchItem};

const WAIT: Duration = Duration::from_secs(10);

/// The embedded store, counting calls, with knobs.
struct Spy {
    inner: SharedStorage,
    lists: AtomicUsize,
    watches: AtomicUsize,
    progress_watches: AtomicUsize,
    /// Whether upstream watches answer progress requests.
    progress: bool,
    /// The next upstream watch ends with this error once notified.
    break_with: Mutex<Option<StorageError>>,
    breaker: Arc<Notify>,
    /// Holds the first list (the cacher's) until notified.
    first_list_gate: Option<Notify>,
}

#[async_trait]
impl Storage for Spy {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.inner.get(key).await
    }
    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        if self.lists.fetch_add(1, Ordering::SeqCst) == 0
            && let Some(gate) = &self.first_list_gate
        {
            gate.notified().await;
        }
        self.inner.list(req).await
    }
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.inner.create(key, value).await
    }
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        self.inner.update(key, value, expected).await
    }
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        self.inner.delete(key, expected).await
    }
    async fn watch(&self, key_or_prefix: &str, after: Revision) -> Result<WatchStream> {
        self.watches.fetch_add(1, Ordering::SeqCst);
        self.inner.watch(key_or_prefix, after).await
    }
    async fn watch_with_progress(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Arc<Notify>,
    ) -> Result<ProgressStream> {
        self.progress_watches.fetch_add(1, Ordering::SeqCst);
        let items = if self.progress {
            self.inner
                .watch_with_progress(key_or_prefix, after, requests)
                .await?
        } else {
            let events = self.inner.watch(key_or_prefix, after).await?;
            events.map(|e| e.map(WatchItem::Event)).boxed()
        };
        let failure = self.break_with.lock().unwrap().take();
        let breaker = self.breaker.clone();
        Ok(match failure {
            None => items,
            Some(err) => items
                .take_until(async move { breaker.notified().await })
                .chain(futures::stream::iter([Err(err)]))
                .boxed(),
        })
    }
    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }
    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }
    async fn health(&self) -> Result<()> {
        self.inner.health().await
    }
}

struct Setup {
    spy: Arc<Spy>,
    cacher: Cacher,
    _dir: tempfile::TempDir,
}

/// What the spy does besides counting.
#[derive(Default)]
struct Knobs {
    no_progress: bool,
    gate_first_list: bool,
    break_first_watch_with: Option<StorageError>,
    options: CacherOptions,
}

async fn setup(knobs: Knobs) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(EmbeddedStorage::open(dir.path().join("db")).await.unwrap());
    let spy = Arc::new(Spy {
        inner,
        lists: AtomicUsize::new(0),
        watches: AtomicUsize::new(0),
        progress_watches: AtomicUsize::new(0),
        progress: !knobs.no_progress,
        break_with: Mutex::new(knobs.break_first_watch_with),
        breaker: Arc::new(Notify::new()),
        first_list_gate: knobs.gate_first_list.then(Notify::new),
    });
    let cacher = Cacher::with_options(spy.clone(), ["/c/".to_string()], knobs.options);
    Setup {
        spy,
        cacher,
        _dir: dir,
    }
}

async fn ready(knobs: Knobs) -> Setup {
    let s = setup(knobs).await;
    timeout(WAIT, s.cacher.wait_ready()).await.unwrap().unwrap();
    s
}

fn latest(prefix: &str) -> ListRequest {
    ListRequest {
        prefix: prefix.into(),
        ..Default::default()
    }
}

fn keys(resp: &ListResponse) -> Vec<&str> {
    resp.items.iter().map(|kv| kv.key.as_str()).collect()
}

async fn next(stream: &mut WatchStream) -> Result<WatchEvent> {
    timeout(WAIT, stream.next()).await.unwrap().unwrap()
}

#[tokio::test]
async fn latest_lists_come_from_memory_once_it_has_caught_up() {
    let s = ready(Knobs::default()).await;
    let lists = s.spy.lists.load(Ordering::SeqCst);
    s.cacher.create("/c/ns/a", b"1".to_vec()).await.unwrap();
    // a write outside the cached prefix moves the revision on: progress covers it
    let elsewhere = s.cacher.create("/other/x", b"1".to_vec()).await.unwrap();
    let resp = s.cacher.list(latest("/c/ns/")).await.unwrap();
    assert_eq!(keys(&resp), ["/c/ns/a"]);
    assert!(resp.revision >= elsewhere.mod_revision);
    assert_eq!(
        s.spy.lists.load(Ordering::SeqCst),
        lists,
        "no list reached the backend"
    );
    // the same page again, at its revision: still nothing changed under the prefix
    let again = ListRequest {
        revision: Some(resp.revision),
        ..latest("/c/ns/")
    };
    assert_eq!(
        s.cacher.list(again.clone()).await.unwrap().items,
        resp.items
    );
    assert_eq!(s.spy.lists.load(Ordering::SeqCst), lists);
    // once the cache has a change under the prefix, that revision is the backend's to answer
    s.cacher.create("/c/ns/b", b"1".to_vec()).await.unwrap();
    let now = s.cacher.list(latest("/c/ns/")).await.unwrap();
    assert_eq!(keys(&now), ["/c/ns/a", "/c/ns/b"]);
    assert_eq!(s.spy.lists.load(Ordering::SeqCst), lists);
    assert_eq!(s.cacher.list(again).await.unwrap().items, resp.items);
    assert_eq!(s.spy.lists.load(Ordering::SeqCst), lists + 1);
    // prefixes that are not cached go to the backend
    s.cacher.list(latest("/other/")).await.unwrap();
    assert_eq!(s.spy.lists.load(Ordering::SeqCst), lists + 2);
}

#[tokio::test]
async fn a_cache_that_cannot_catch_up_in_time_sends_reads_to_the_backend() {
    let s = ready(Knobs {
        no_progress: true,
        options: CacherOptions {
            freshness_timeout: Duration::from_millis(200),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let lists = s.spy.lists.load(Ordering::SeqCst);
    s.cacher.create("/c/a", b"1".to_vec()).await.unwrap();
    let resp = s.cacher.list(latest("/c/")).await.unwrap();
    assert_eq!(keys(&resp), ["/c/a"]);
    assert_eq!(
        s.spy.lists.load(Ordering::SeqCst),
        lists,
        "events alone made it fresh"
    );
    // without progress notifications, a write elsewhere leaves the cache behind for good
    let elsewhere = s.cacher.create("/other/x", b"1".to_vec()).await.unwrap();
    let resp = s.cacher.list(latest("/c/")).await.unwrap();
    assert_eq!(keys(&resp), ["/c/a"]);
    assert_eq!(resp.revision, elsewhere.mod_revision);
    assert_eq!(s.spy.lists.load(Ordering::SeqCst), lists + 1);
}

#[tokio::test]
async fn reads_go_to_the_backend_until_the_cache_is_ready() {
    let s = setup(Knobs {
        gate_first_list: true,
        ..Default::default()
    })
    .await;
    let a = s.cacher.create("/c/a", b"1".to_vec()).await.unwrap();
    // the cacher's own list is held: this one is served by the backend
    let resp = timeout(WAIT, s.cacher.list(latest("/c/")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(keys(&resp), ["/c/a"]);
    let mut watch = s.cacher.watch("/c/", 0).await.unwrap();
    assert_eq!(s.spy.watches.load(Ordering::SeqCst), 1);
    assert_eq!(next(&mut watch).await.unwrap().revision(), a.mod_revision);
    s.spy.first_list_gate.as_ref().unwrap().notify_one();
    timeout(WAIT, s.cacher.wait_ready()).await.unwrap().unwrap();
    let _cached = s.cacher.watch("/c/", a.mod_revision).await.unwrap();
    assert_eq!(
        s.spy.watches.load(Ordering::SeqCst),
        1,
        "now served by the cache"
    );
}

#[tokio::test]
async fn every_watcher_shares_the_one_upstream_watch() {
    let s = ready(Knobs::default()).await;
    let start = s.cacher.current_revision().await.unwrap();
    let mut watchers = Vec::new();
    for _ in 0..50 {
        watchers.push(s.cacher.watch("/c/", start).await.unwrap());
    }
    let mut single = s.cacher.watch("/c/b", start).await.unwrap();
    s.cacher.create("/c/a", b"1".to_vec()).await.unwrap();
    let b = s.cacher.create("/c/b", b"1".to_vec()).await.unwrap();
    for w in &mut watchers {
        assert_eq!(next(w).await.unwrap().revision(), b.mod_revision - 1);
        assert_eq!(next(w).await.unwrap().revision(), b.mod_revision);
    }
    assert_eq!(next(&mut single).await.unwrap().revision(), b.mod_revision);
    assert_eq!(s.spy.watches.load(Ordering::SeqCst), 0);
    assert_eq!(s.spy.progress_watches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn watchers_with_progress_follow_the_store_through_the_one_upstream_watch() {
    let s = ready(Knobs::default()).await;
    let start = s.cacher.current_revision().await.unwrap();
    let requests = Arc::new(Notify::new());
    let mut quiet = s
        .cacher
        .watch_with_progress("/c/quiet/", start, requests.clone())
        .await
        .unwrap();
    let busy = s.cacher.create("/c/busy/a", b"1".to_vec()).await.unwrap();
    let mine = s.cacher.create("/c/quiet/a", b"1".to_vec()).await.unwrap();
    // Outside the cached prefix: only the upstream watch's progress tells the cache.
    let elsewhere = s.cacher.create("/other/x", b"1".to_vec()).await.unwrap();
    let mut items = Vec::new();
    while !matches!(items.last(), Some(WatchItem::Progress(rev)) if *rev >= elsewhere.mod_revision)
    {
        items.push(timeout(WAIT, quiet.next()).await.unwrap().unwrap().unwrap());
    }
    // In order, never past an undelivered change: progress through `busy`, `mine`, then on.
    let mine_at = items
        .iter()
        .position(|item| matches!(item, WatchItem::Event(e) if e.revision() == mine.mod_revision))
        .expect("my change");
    for (i, item) in items.iter().enumerate() {
        match item {
            WatchItem::Event(e) => assert_eq!(e.revision(), mine.mod_revision, "{items:?}"),
            WatchItem::Progress(rev) if i < mine_at => {
                assert!(
                    *rev >= busy.mod_revision && *rev < mine.mod_revision,
                    "{items:?}"
                )
            }
            WatchItem::Progress(rev) => assert!(*rev >= mine.mod_revision, "{items:?}"),
        }
    }
    // A request is answered at once when the cache is there already.
    requests.notify_one();
    let answer = timeout(Duration::from_secs(1), quiet.next()).await.unwrap();
    assert!(
        matches!(answer, Some(Ok(WatchItem::Progress(rev))) if rev >= elsewhere.mod_revision),
        "{answer:?}"
    );
    assert_eq!(s.spy.watches.load(Ordering::SeqCst), 0);
    assert_eq!(
        s.spy.progress_watches.load(Ordering::SeqCst),
        1,
        "served by the cache"
    );
}

#[tokio::test]
async fn watches_start_only_inside_the_window_and_slow_watchers_are_dropped() {
    let s = ready(Knobs {
        options: CacherOptions {
            window: WindowLimits {
                min: 2,
                max: 4,
                fresh: Duration::from_secs(60),
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let start = s.cacher.current_revision().await.unwrap();
    let mut slow = s.cacher.watch("/c/", start).await.unwrap();
    let mut last = 0;
    for i in 0..6 {
        last = s
            .cacher
            .create(&format!("/c/{i}"), b"1".to_vec())
            .await
            .unwrap()
            .mod_revision;
    }
    // wait until the cache has every write
    let resp = s.cacher.list(latest("/c/")).await.unwrap();
    assert_eq!(resp.items.len(), 6);
    // four events fit: the watcher that read none of them has lost two
    assert!(matches!(
        next(&mut slow).await,
        Err(StorageError::Compacted { requested, compacted }) if requested == start && compacted == start + 2
    ));
    assert!(
        timeout(WAIT, slow.next()).await.unwrap().is_none(),
        "and it ends"
    );
    // a watch from before the window is refused; from inside it, it replays what it missed
    let err = s.cacher.watch("/c/", start + 1).await.err().unwrap();
    assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}");
    let mut resumed = s.cacher.watch("/c/", last - 2).await.unwrap();
    assert_eq!(next(&mut resumed).await.unwrap().revision(), last - 1);
    assert_eq!(next(&mut resumed).await.unwrap().revision(), last);
}

#[tokio::test]
async fn a_broken_upstream_watch_resumes_where_it_left_off() {
    let s = ready(Knobs {
        break_first_watch_with: Some(StorageError::Unavailable("cut".into())),
        ..Default::default()
    })
    .await;
    let lists = s.spy.lists.load(Ordering::SeqCst);
    let start = s.cacher.current_revision().await.unwrap();
    let mut watch = s.cacher.watch("/c/", start).await.unwrap();
    let a = s.cacher.create("/c/a", b"1".to_vec()).await.unwrap();
    assert_eq!(next(&mut watch).await.unwrap().revision(), a.mod_revision);
    s.spy.breaker.notify_one();
    let b = s.cacher.create("/c/b", b"1".to_vec()).await.unwrap();
    let c = s.cacher.create("/c/c", b"1".to_vec()).await.unwrap();
    assert_eq!(next(&mut watch).await.unwrap().revision(), b.mod_revision);
    assert_eq!(next(&mut watch).await.unwrap().revision(), c.mod_revision);
    assert_eq!(
        s.spy.progress_watches.load(Ordering::SeqCst),
        2,
        "watched again"
    );
    assert_eq!(
        s.spy.lists.load(Ordering::SeqCst),
        lists,
        "without listing again"
    );
}

#[tokio::test]
async fn an_upstream_watch_behind_compaction_lists_again_and_ends_older_watchers() {
    let s = ready(Knobs {
        break_first_watch_with: Some(StorageError::Compacted {
            requested: 0,
            compacted: 0,
        }),
        ..Default::default()
    })
    .await;
    let lists = s.spy.lists.load(Ordering::SeqCst);
    let start = s.cacher.current_revision().await.unwrap();
    let mut behind = s.cacher.watch("/c/", start).await.unwrap();
    let a = s.cacher.create("/c/a", b"1".to_vec()).await.unwrap();
    // wait until the cache has it, then cut the upstream watch
    assert_eq!(keys(&s.cacher.list(latest("/c/")).await.unwrap()), ["/c/a"]);
    s.spy.breaker.notify_one();
    let b = s.cacher.create("/c/b", b"1".to_vec()).await.unwrap();
    let relisted = async {
        while s.spy.lists.load(Ordering::SeqCst) == lists {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(WAIT, relisted).await.unwrap();
    timeout(WAIT, s.cacher.wait_ready()).await.unwrap().unwrap();
    // the new window starts at the new list: a watcher that had not read `a` has lost it
    assert!(matches!(
        next(&mut behind).await,
        Err(StorageError::Compacted { requested, .. }) if requested == start
    ));
    let resp = s.cacher.list(latest("/c/")).await.unwrap();
    assert_eq!(keys(&resp), ["/c/a", "/c/b"]);
    assert!(resp.revision >= b.mod_revision && a.mod_revision < b.mod_revision);
    let mut later = s.cacher.watch("/c/", resp.revision).await.unwrap();
    let c = s.cacher.create("/c/c", b"1".to_vec()).await.unwrap();
    assert_eq!(next(&mut later).await.unwrap().revision(), c.mod_revision);
}

#[tokio::test]
async fn dropping_the_cacher_ends_its_watchers() {
    let s = ready(Knobs::default()).await;
    let now = s.cacher.current_revision().await.unwrap();
    let mut watch = s.cacher.watch("/c/", now).await.unwrap();
    drop(s.cacher);
    assert!(timeout(WAIT, watch.next()).await.unwrap().is_none());
}
