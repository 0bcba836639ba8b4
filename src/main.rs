//! `capstan`: flags → configuration → the standalone control plane (see `capstan::controlplane`).

use clap::Parser;

use capstan::server::options::Options;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    capstan::observability::init_logging();
    capstan::controlplane::run(Options::parse()).await
}
