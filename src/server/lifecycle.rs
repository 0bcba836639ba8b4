//! One-shot signals marking the server's shutdown phases (kube's `lifecycleSignals`): readiness
//! reads the first, the serving loop and long-running requests the second.

use std::sync::Arc;

use tokio::sync::watch;

/// A flag that goes from "not yet" to "happened" once and never back; any number of tasks can
/// wait for it.
#[derive(Clone, Debug)]
pub struct Signal(Arc<watch::Sender<bool>>);

impl Default for Signal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Signal {
    /// Marks the signal as happened and wakes every waiter. Idempotent.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    /// Whether [`Signal::fire`] was called.
    pub fn has_fired(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the signal has fired (at once if it already has). Owns what it needs, so
    /// it can be stored in `'static` futures and streams.
    pub fn fired(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            // The sender lives as long as any `Signal` clone; if all are gone nobody can fire it,
            // and `wait_for` returns an error, which we treat as "never".
            if rx.wait_for(|fired| *fired).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The shutdown phases, in the order they fire.
#[derive(Clone, Debug, Default)]
pub struct LifecycleSignals {
    /// A termination signal arrived: `/readyz` reports `shutdown` failed from now on, while
    /// requests are still served for `--shutdown-delay-duration`.
    pub shutdown_initiated: Signal,
    /// The delay is over: stop accepting connections, end long-running requests (watches) and
    /// drain the rest.
    pub draining: Signal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waiters_wake_on_fire_and_late_waiters_return_at_once() {
        let signal = Signal::default();
        let waiter = tokio::spawn(signal.fired());
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert!(!signal.has_fired());
        signal.clone().fire();
        waiter.await.unwrap();
        assert!(signal.has_fired());
        tokio::time::timeout(std::time::Duration::from_millis(1), signal.fired())
            .await
            .unwrap();
    }
}
