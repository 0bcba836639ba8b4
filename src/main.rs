//! `capstan`: flags → Config → run. Storage and the API groups are wired by the lead; until then
//! this serves the generic server (health, version, index) with an empty API router.

use clap::Parser;

use capstan::server::options::Options;
use capstan::server::{GenericApiServer, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    capstan::observability::init_logging();
    let options = Options::parse();
    let config = tokio::task::spawn_blocking(move || options.into_config().complete()).await??;
    GenericApiServer::new(config, axum::Router::new())
        .run(shutdown_signal())
        .await
}
