//! Post-start hooks: named async tasks run once the server listens (kube's `PostStartHook`),
//! each with a `poststarthook/<name>` health check that fails until the hook has finished, so
//! `/readyz` only passes once start-up work (bootstrap namespaces, caches…) is done.

use std::net::SocketAddr;

use futures::future::BoxFuture;
use tokio::task::JoinSet;

use super::health::HealthCheck;
use super::lifecycle::Signal;

/// What a hook gets: where the server listens and a signal that fires when shutdown begins
/// (long-running hooks should stop then).
#[derive(Clone, Debug)]
pub struct PostStartHookContext {
    /// The address the server listens on.
    pub local_addr: SocketAddr,
    /// Fires when shutdown begins.
    pub shutdown_initiated: Signal,
}

type HookFn =
    Box<dyn FnOnce(PostStartHookContext) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// A registered hook and the signal its health check watches.
pub(crate) struct PostStartHook {
    name: String,
    run: HookFn,
    done: Signal,
}

impl PostStartHook {
    pub(crate) fn new<F, Fut>(name: String, hook: F) -> Self
    where
        F: FnOnce(PostStartHookContext) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name,
            run: Box::new(move |ctx| Box::pin(hook(ctx))),
            done: Signal::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `poststarthook/<name>`: fails until the hook has returned successfully.
    pub(crate) fn health_check(&self) -> HealthCheck {
        let done = self.done.clone();
        HealthCheck::new(format!("poststarthook/{}", self.name), move || {
            let finished = done.has_fired();
            async move {
                anyhow::ensure!(finished, "not finished");
                Ok(())
            }
        })
    }
}

/// Starts every hook; the returned set yields `Err` for the first hook that fails (which is
/// fatal, as in kube).
pub(crate) fn start_hooks(
    hooks: Vec<PostStartHook>,
    ctx: &PostStartHookContext,
) -> JoinSet<anyhow::Result<()>> {
    let mut set = JoinSet::new();
    for hook in hooks {
        let ctx = ctx.clone();
        set.spawn(async move {
            tracing::debug!(hook = %hook.name, "running post-start hook");
            (hook.run)(ctx)
                .await
                .map_err(|err| err.context(format!("PostStartHook {:?} failed", hook.name)))?;
            hook.done.fire();
            Ok(())
        });
    }
    set
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::*;

    fn ctx() -> PostStartHookContext {
        PostStartHookContext {
            local_addr: ([127, 0, 0, 1], 1).into(),
            shutdown_initiated: Signal::default(),
        }
    }

    #[tokio::test]
    async fn the_check_passes_only_after_the_hook_finished() {
        let release = Arc::new(Notify::new());
        let wait = release.clone();
        let hook = PostStartHook::new("bootstrap".into(), move |_ctx| async move {
            wait.notified().await;
            Ok(())
        });
        let check = hook.health_check();
        assert_eq!(check.name(), "poststarthook/bootstrap");
        let mut set = start_hooks(vec![hook], &ctx());
        tokio::task::yield_now().await;
        assert!(check.run().await.is_err());
        release.notify_one();
        set.join_next().await.unwrap().unwrap().unwrap();
        assert!(check.run().await.is_ok());
    }

    #[tokio::test]
    async fn a_failing_hook_reports_its_name() {
        let hook = PostStartHook::new("broken".into(), |_ctx| async { anyhow::bail!("no") });
        let check = hook.health_check();
        let mut set = start_hooks(vec![hook], &ctx());
        let err = set.join_next().await.unwrap().unwrap().unwrap_err();
        assert_eq!(format!("{err:#}"), "PostStartHook \"broken\" failed: no");
        assert!(check.run().await.is_err());
    }
}
