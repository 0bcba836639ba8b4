//! A small work queue with client-go's workqueue guarantees that the controllers here need: a
//! key waits in the queue at most once however often it is added; a key added again while a
//! worker handles it is handled once more afterwards; failures come back after a growing delay.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, mpsc};

/// Keys to work on, deduplicated while they wait.
pub struct WorkQueue<K> {
    waiting: Mutex<HashSet<K>>,
    failures: Mutex<HashMap<K, u32>>,
    tx: mpsc::UnboundedSender<K>,
    rx: AsyncMutex<mpsc::UnboundedReceiver<K>>,
    backoff: Backoff,
}

/// Per-key retry delays: `base`, doubled on each failure, at most `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<K> {
    /// An empty queue retrying failed keys per `backoff`.
    pub fn new(backoff: Backoff) -> std::sync::Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        std::sync::Arc::new(Self {
            waiting: Mutex::new(HashSet::new()),
            failures: Mutex::new(HashMap::new()),
            tx,
            rx: AsyncMutex::new(rx),
            backoff,
        })
    }

    /// Queues `key` unless it is already waiting.
    pub fn add(&self, key: K) {
        let fresh = self
            .waiting
            .lock()
            .map(|mut w| w.insert(key.clone()))
            .unwrap_or(false);
        if fresh {
            // The receiver lives in `self`, so the channel is open while anyone can call this.
            let _ = self.tx.send(key);
        }
    }

    /// Queues `key` after `delay`.
    pub fn add_after(self: &std::sync::Arc<Self>, key: K, delay: Duration) {
        let queue = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(queue) = queue.upgrade() {
                queue.add(key);
            }
        });
    }

    /// Queues `key` again after its next backoff delay (for a failure, or work not done yet).
    pub fn retry(self: &std::sync::Arc<Self>, key: K) {
        let attempts = self
            .failures
            .lock()
            .map(|mut f| {
                let n = f.entry(key.clone()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            })
            .unwrap_or(1);
        self.add_after(key, self.backoff.delay(attempts));
    }

    /// Resets `key`'s backoff once its work succeeded.
    pub fn forget(&self, key: &K) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    /// The next key to work on; waits for one.
    pub async fn next(&self) -> Option<K> {
        let key = self.rx.lock().await.recv().await?;
        if let Ok(mut w) = self.waiting.lock() {
            w.remove(&key);
        }
        Some(key)
    }
}

impl Backoff {
    /// The delay before retry number `attempts` (1 for the first).
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> std::sync::Arc<WorkQueue<&'static str>> {
        WorkQueue::new(Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        })
    }

    #[tokio::test]
    async fn a_waiting_key_is_queued_once() {
        let q = queue();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.next().await, Some("a"));
        // Taken off the queue: adding it again queues it again.
        q.add("a");
        assert_eq!(q.next().await, Some("b"));
        assert_eq!(q.next().await, Some("a"));
        assert!(
            tokio::time::timeout(Duration::from_millis(20), q.next())
                .await
                .is_err()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_until_forgotten() {
        let q = queue();
        q.retry("a");
        let started = tokio::time::Instant::now();
        assert_eq!(q.next().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        q.retry("a");
        assert_eq!(q.next().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        q.forget(&"a");
        q.retry("a");
        assert_eq!(q.next().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_millis(400));
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (1..=6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }
}
