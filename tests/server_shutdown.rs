//! Graceful shutdown of a real server: readiness fails first, requests are still served during
//! the shutdown delay, then the listener closes, watches end and in-flight requests finish.

mod server_support;

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use server_support::{TestServer, get};

#[tokio::test]
async fn readyz_fails_first_then_watches_end_and_in_flight_requests_finish() {
    let delay = Duration::from_millis(1500);
    let mut server = TestServer::start(|c| c.serving.shutdown_delay = delay, |_| {}).await;
    let admin = server.admin().await;
    let prober = server.anonymous().await;
    assert_eq!(get(&prober, "/readyz").await.status, 200);

    let watch = admin
        .send(
            http::Request::get("/api/v1/namespaces/default/pods?watch=1")
                .body(kube::client::Body::from(Vec::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let mut watch_body = watch.into_body();
    assert!(watch_body.frame().await.is_some_and(|f| f.is_ok()));
    let slow = {
        let admin = server.admin().await;
        tokio::spawn(async move { get(&admin, "/api/v1/slow?ms=2500").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    server.signal_shutdown();
    let mut ready = get(&prober, "/readyz?verbose").await;
    while ready.status == 200 && signalled.elapsed() < delay {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ready = get(&prober, "/readyz?verbose").await;
    }
    assert_eq!(ready.status, 500);
    assert!(
        ready.body.contains("[-]shutdown failed: reason withheld\n"),
        "{}",
        ready.body
    );
    assert!(ready.body.contains("[+]ping ok\n"), "{}", ready.body);
    let fresh = server.anonymous().await;
    assert_eq!(
        get(&fresh, "/healthz").await.status,
        200,
        "still serving new connections during the delay"
    );
    assert!(
        signalled.elapsed() < delay,
        "the checks above should run within the delay"
    );

    let rest = tokio::time::timeout(Duration::from_secs(10), watch_body.collect()).await;
    assert!(
        matches!(rest, Ok(Ok(_))),
        "the watch should end cleanly: {rest:?}"
    );
    assert!(
        signalled.elapsed() >= delay,
        "the watch ended before the shutdown delay was over"
    );

    let slow = slow.await.unwrap();
    assert_eq!(
        (slow.status, slow.body.as_str()),
        (200, "slept"),
        "in-flight requests finish"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(10), server.done.take().unwrap()).await;
    outcome.expect("run() returned").unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_failing_post_start_hook_stops_the_server() {
    let mut server = TestServer::start(
        |_| {},
        |s| {
            s.add_post_start_hook("broken", |_ctx| async { anyhow::bail!("cannot bootstrap") });
        },
    )
    .await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), server.done.take().unwrap()).await;
    let err = outcome.expect("run() returned").unwrap().unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "PostStartHook \"broken\" failed: cannot bootstrap"
    );
}
