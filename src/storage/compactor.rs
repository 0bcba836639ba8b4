//! Periodic compaction of history, as kube-apiserver compacts etcd.
//!
//! Without compaction the embedded store's history (and etcd's) grows forever. Like
//! kube-apiserver's compactor (`storage/etcd3/compact.go`), each tick compacts to the revision
//! seen at the *previous* tick, so at least one interval of history always stays available for
//! watches and paginated lists to resume from.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{Revision, SharedStorage};

/// Starts compacting `storage` every `interval` (`--etcd-compaction-interval`); a zero interval
/// disables compaction, as in kube-apiserver. Failures are logged and retried at the next tick;
/// the task runs until aborted.
pub fn spawn_compactor(storage: SharedStorage, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        if interval.is_zero() {
            tracing::info!("storage compaction disabled (interval 0)");
            return;
        }
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut previous: Option<Revision> = None;
        let mut compacted: Revision = 0;
        loop {
            ticker.tick().await;
            if let Some(target) = previous.filter(|&rev| rev > compacted) {
                match storage.compact(target).await {
                    Ok(()) => {
                        compacted = target;
                        tracing::debug!(revision = target, "compacted storage");
                    }
                    Err(err) => {
                        tracing::warn!(revision = target, error = %err, "compaction failed")
                    }
                }
            }
            match storage.current_revision().await {
                Ok(rev) => previous = Some(rev),
                Err(err) => tracing::warn!(error = %err, "reading the revision to compact failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::*;
    use crate::storage::{
        Deleted, KeyValue, ListRequest, ListResponse, Result, Storage, StorageError, WatchStream,
    };

    /// A store that only has a revision and records compactions.
    #[derive(Default)]
    struct Recorder {
        revision: Mutex<Revision>,
        compactions: Mutex<Vec<Revision>>,
        fail_next: Mutex<bool>,
    }

    #[async_trait]
    impl Storage for Recorder {
        async fn get(&self, _: &str) -> Result<Option<KeyValue>> {
            unimplemented!()
        }
        async fn list(&self, _: ListRequest) -> Result<ListResponse> {
            unimplemented!()
        }
        async fn create(&self, _: &str, _: Vec<u8>) -> Result<KeyValue> {
            unimplemented!()
        }
        async fn update(&self, _: &str, _: Vec<u8>, _: Revision) -> Result<KeyValue> {
            unimplemented!()
        }
        async fn delete(&self, _: &str, _: Option<Revision>) -> Result<Deleted> {
            unimplemented!()
        }
        async fn watch(&self, _: &str, _: Revision) -> Result<WatchStream> {
            unimplemented!()
        }
        async fn current_revision(&self) -> Result<Revision> {
            Ok(*self.revision.lock().unwrap())
        }
        async fn compact(&self, revision: Revision) -> Result<()> {
            if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
                return Err(StorageError::Unavailable("down".into()));
            }
            self.compactions.lock().unwrap().push(revision);
            Ok(())
        }
        async fn health(&self) -> Result<()> {
            Ok(())
        }
    }

    impl Recorder {
        fn set(&self, rev: Revision) {
            *self.revision.lock().unwrap() = rev;
        }
        fn compactions(&self) -> Vec<Revision> {
            self.compactions.lock().unwrap().clone()
        }
    }

    const INTERVAL: Duration = Duration::from_secs(300);

    /// Sleeps into the middle of the next interval, letting the compactor's tick run first.
    async fn next_tick() {
        tokio::time::sleep(INTERVAL).await;
    }

    #[tokio::test(start_paused = true)]
    async fn compacts_to_the_revision_of_the_previous_tick() {
        let store = Arc::new(Recorder::default());
        store.set(10);
        let task = spawn_compactor(store.clone(), INTERVAL);
        tokio::time::sleep(INTERVAL / 2).await;
        assert!(
            store.compactions().is_empty(),
            "nothing before the first interval"
        );

        next_tick().await; // tick 1 records 10
        assert!(
            store.compactions().is_empty(),
            "the first tick only records a revision"
        );
        store.set(20);
        next_tick().await; // tick 2 compacts to 10, records 20
        assert_eq!(store.compactions(), [10]);
        store.set(35);
        next_tick().await; // tick 3 compacts to 20
        assert_eq!(store.compactions(), [10, 20]);
        next_tick().await; // tick 4 compacts to 35
        next_tick().await; // tick 5: nothing new was written, nothing to compact
        assert_eq!(store.compactions(), [10, 20, 35]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_compaction_is_retried_and_does_not_stop_the_task() {
        let store = Arc::new(Recorder::default());
        store.set(5);
        let task = spawn_compactor(store.clone(), INTERVAL);
        tokio::time::sleep(INTERVAL / 2).await;
        next_tick().await; // records 5
        *store.fail_next.lock().unwrap() = true;
        store.set(8);
        next_tick().await; // compacting to 5 fails
        assert!(store.compactions().is_empty());
        assert!(!task.is_finished());
        next_tick().await; // compacts to 8
        assert_eq!(store.compactions(), [8]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_interval_disables_compaction() {
        let store = Arc::new(Recorder::default());
        let task = spawn_compactor(store.clone(), Duration::ZERO);
        task.await.unwrap();
        assert!(store.compactions().is_empty());
    }
}
