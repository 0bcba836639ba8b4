//! The serving loop: accept TCP, handshake TLS, serve HTTP/1.1 or h2 (by ALPN) with hyper-util,
//! hand each request the connection's verified client certificates, and shut down gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt, service_fn};

use super::filters::{ChainBody, Request};
use super::lifecycle::Signal;
use crate::auth::PeerCertificates;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// kube-apiserver's `HTTP2MaxStreamsPerConnection` for servers behind the aggregator, which
/// multiplexes every proxied request on one connection.
const H2_MAX_CONCURRENT_STREAMS: u32 = 1000;

/// Serves `chain` on `listener` until `draining` fires, then stops accepting, lets every
/// connection finish its in-flight requests (h2 GOAWAY, HTTP/1 close after the response) and
/// returns; connections still open after `drain_timeout` are cut.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    chain: S,
    draining: Signal,
    drain_timeout: Duration,
) where
    S: Service<Request, Response = http::Response<ChainBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A timer makes hyper enforce its header-read timeout, so slow clients cannot hold
    // connections open without sending a request.
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let stop = draining.fired();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    let connection = Connection {
                        acceptor: acceptor.clone(),
                        builder: builder.clone(),
                        watcher: graceful.watcher(),
                    };
                    connections.spawn(connection.serve(tcp, remote, chain.clone()));
                }
                Err(err) => {
                    // Usually out of file descriptors; back off instead of spinning.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "stopped accepting; draining connections"
    );
    if tokio::time::timeout(drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain_timeout,
            "connections still open after the drain timeout; closing them"
        );
    }
    connections.shutdown().await;
}

/// What one connection task needs besides the socket.
struct Connection {
    acceptor: TlsAcceptor,
    builder: auto::Builder<TokioExecutor>,
    watcher: Watcher,
}

impl Connection {
    async fn serve<S>(self, tcp: TcpStream, remote: SocketAddr, chain: S)
    where
        S: Service<Request, Response = http::Response<ChainBody>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        let _ = tcp.set_nodelay(true);
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => {
                tracing::debug!(%remote, %err, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake timed out");
                return;
            }
        };
        // rustls only completes the handshake with certificates that verified against the
        // client CAs, so what is here is trusted.
        let peer = PeerCertificates(
            tls.get_ref()
                .1
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
                .unwrap_or_default(),
        );
        let service = service_fn(move |req: http::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(peer.clone());
            req.extensions_mut().insert(ConnectInfo(remote));
            chain.clone().oneshot(req)
        });
        let connection = self
            .builder
            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
            .into_owned();
        if let Err(err) = self.watcher.watch(connection).await {
            tracing::debug!(%remote, %err, "connection ended with an error");
        }
    }
}
