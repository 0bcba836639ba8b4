//! The storage contract: the same tests run against the embedded store and a real etcd, modelled
//! on k8s.io/apiserver's storage/testing `store_tests.go` and `watcher_tests.go`.
//!
//! Each case is an `async fn(SharedStorage)`; `contract_tests!` instantiates it once per backend,
//! and once more per backend behind the watch cache (`storage::cacher`).
//! etcd cases need the `etcd` feature and start their own etcd (compaction is global to a store).

mod support;

// The cases, by topic (a crate root resolves `mod` paths beside itself, hence `#[path]`).
#[path = "storage_contract/crud.rs"]
mod crud;
#[path = "storage_contract/list.rs"]
mod list;
#[path = "storage_contract/ttl.rs"]
mod ttl;
#[path = "storage_contract/watch.rs"]
mod watch;

use std::sync::Arc;
use std::time::Duration;

use capstan::storage::backend::{self, Backend};
use capstan::storage::cacher::Cacher;
use capstan::storage::{
    KeyValue, ListRequest, SharedStorage, StorageError, WatchEvent, WatchStream,
};
use futures::StreamExt;

use crud::*;
use list::*;
use ttl::*;
use watch::*;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(300);

/// A backend under test and whatever keeps it alive.
struct Fixture {
    storage: SharedStorage,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage = backend::open(Backend::Embedded {
        path: dir.path().join("store.redb"),
    })
    .await
    .unwrap();
    Fixture {
        storage,
        _guard: Box::new(dir),
    }
}

#[cfg(feature = "etcd")]
async fn etcd() -> Fixture {
    let etcd = tokio::task::spawn_blocking(support::etcd::Etcd::start)
        .await
        .unwrap();
    let storage = backend::open(Backend::Etcd {
        endpoints: vec![etcd.endpoint.clone()],
    })
    .await
    .unwrap();
    Fixture {
        storage,
        _guard: Box::new(etcd),
    }
}

/// `fixture`'s backend behind the watch cache, which caches everything the cases use (`/t/`)
/// and is ready before a case starts.
async fn cached(fixture: Fixture) -> Fixture {
    let cacher = Cacher::new(fixture.storage.clone(), ["/t/".to_string()]);
    cacher.wait_ready().await.unwrap();
    Fixture {
        storage: Arc::new(cacher),
        _guard: fixture._guard,
    }
}

macro_rules! contract_tests {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::embedded().await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
        #[cfg(feature = "etcd")]
        mod etcd {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::etcd().await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
        /// The watch cache over the embedded store.
        mod cached_embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::cached(super::embedded().await).await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
        /// The watch cache over etcd.
        #[cfg(feature = "etcd")]
        mod cached_etcd {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::cached(super::etcd().await).await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
    };
}

contract_tests!(
    create_get_and_already_exists,
    revisions_strictly_increase,
    update_is_compare_and_swap,
    delete_checks_revision,
    list_reads_a_past_revision,
    pagination_is_pinned_to_the_first_page_revision,
    prefix_ns1_never_matches_ns10,
    watch_resumes_with_exactly_the_missed_events,
    watch_delete_carries_prev,
    watch_of_a_single_key,
    compaction_expires_lists_and_watches,
    future_revision_is_refused,
    guaranteed_update_loses_no_concurrent_update,
    health_answers,
    ttl_deletes_a_key_a_ttl_after_its_last_write,
    a_write_without_ttl_makes_a_key_permanent,
    expired_keys_can_be_created_again,
    watch_progress_follows_other_keys,
    progress_requests_report_the_current_revision,
);

fn req(
    prefix: &str,
    revision: Option<i64>,
    start: Option<&str>,
    limit: Option<usize>,
) -> ListRequest {
    ListRequest {
        prefix: prefix.into(),
        revision,
        start_key: start.map(Into::into),
        limit,
    }
}

fn keys(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected a watch event, got {other:?}"),
    }
}

async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(QUIET, stream.next()).await {
        panic!("expected no further watch event, got {item:?}");
    }
}

fn event_key(event: &WatchEvent) -> &str {
    match event {
        WatchEvent::Put { kv, .. } => &kv.key,
        WatchEvent::Delete { key, .. } => key,
    }
}

/// Embedded only: everything survives closing and reopening the file.
#[tokio::test]
async fn embedded_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let open = || backend::open(Backend::Embedded { path: path.clone() });

    let s = open().await.unwrap();
    let a = s.create("/t/r/a", b"1".to_vec()).await.unwrap();
    let old = s.current_revision().await.unwrap();
    let a2 = s
        .update("/t/r/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let kept = s.current_revision().await.unwrap();
    let b = s.create("/t/r/b", b"1".to_vec()).await.unwrap();
    s.compact(kept).await.unwrap();
    let last = s.current_revision().await.unwrap();
    drop(s);

    let s = open().await.unwrap();
    assert_eq!(s.current_revision().await.unwrap(), last);
    assert_eq!(s.get("/t/r/a").await.unwrap(), Some(a2.clone()));
    let latest = s.list(req("/t/r/", None, None, None)).await.unwrap();
    assert_eq!(latest.items, vec![a2.clone(), b.clone()]);
    assert_eq!(latest.revision, last);
    // History and the compacted revision are kept.
    let past = s.list(req("/t/r/", Some(kept), None, None)).await.unwrap();
    assert_eq!(past.items, vec![a2.clone()]);
    let err = s
        .list(req("/t/r/", Some(old), None, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}");
    let mut watch = s.watch("/t/r/", kept).await.unwrap();
    assert_eq!(
        next_event(&mut watch).await,
        WatchEvent::Put { kv: b, prev: None }
    );
    // The revision keeps increasing.
    let c = s.create("/t/r/c", b"1".to_vec()).await.unwrap();
    assert_eq!(c.mod_revision, last + 1);
    assert_eq!(next_event(&mut watch).await.revision(), c.mod_revision);
}

/// Embedded only: keys whose TTL ran out while the store was closed go soon after it reopens,
/// through a deletion watchers see; the ones still alive keep their deadline.
#[tokio::test]
async fn embedded_expires_keys_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let open = || backend::open(Backend::Embedded { path: path.clone() });

    let s = open().await.unwrap();
    let short = s
        .create_with_ttl("/t/ev/short", b"1".to_vec(), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let long = s
        .create_with_ttl("/t/ev/long", b"1".to_vec(), Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let s = open().await.unwrap();
    let mut watch = s.watch("/t/ev/", long.mod_revision).await.unwrap();
    match next_event(&mut watch).await {
        WatchEvent::Delete {
            key,
            prev,
            revision,
        } => {
            assert_eq!(key, short.key);
            assert_eq!(prev, short);
            assert_eq!(revision, long.mod_revision + 1);
        }
        other => panic!("expected the expired key's deletion, got {other:?}"),
    }
    assert_eq!(s.get("/t/ev/long").await.unwrap(), Some(long));
    assert_quiet(&mut watch).await;
}

/// etcd only: a shared lease that etcd no longer has (revoked by someone else) is replaced, so
/// writes with a TTL keep working.
#[cfg(feature = "etcd")]
#[tokio::test]
async fn etcd_replaces_a_lease_it_lost() {
    let fixture = etcd().await;
    let s = fixture.storage.clone();
    let ttl = Some(Duration::from_secs(600));
    s.create_with_ttl("/t/ev/a", b"1".to_vec(), ttl)
        .await
        .unwrap();
    let endpoint = fixture
        ._guard
        .downcast_ref::<support::etcd::Etcd>()
        .unwrap()
        .endpoint
        .clone();
    let mut client = etcd_client::Client::connect([endpoint], None)
        .await
        .unwrap();
    let leases = client.leases().await.unwrap();
    assert_eq!(
        leases.leases().len(),
        1,
        "writes in one bucket share a lease"
    );
    for lease in leases.leases() {
        client.lease_revoke(lease.id()).await.unwrap();
    }
    assert_eq!(
        s.get("/t/ev/a").await.unwrap(),
        None,
        "revoking took the key"
    );
    let b = s
        .create_with_ttl("/t/ev/b", b"1".to_vec(), ttl)
        .await
        .unwrap();
    assert_eq!(s.get("/t/ev/b").await.unwrap(), Some(b));
    assert_eq!(client.leases().await.unwrap().leases().len(), 1);
}

/// etcd only: a cluster that cannot be reached answers `Unavailable`, not a hang or a panic.
#[cfg(feature = "etcd")]
#[tokio::test]
async fn etcd_unreachable_is_unavailable() {
    let endpoint = format!("http://127.0.0.1:{}", support::free_port());
    let started = std::time::Instant::now();
    let err = match backend::open(Backend::Etcd {
        endpoints: vec![endpoint],
    })
    .await
    {
        Ok(s) => s.health().await.unwrap_err(),
        Err(err) => err,
    };
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
}
