//! A real GenericApiServer over TLS with real clients: authentication, Audit-ID, limits,
//! timeouts, health and the non-API routes.

mod server_support;

use std::sync::Arc;
use std::time::Duration;

use server_support::{TestServer, get, send};
use tokio::sync::Notify;

#[tokio::test]
async fn anonymous_callers_reach_probes_and_version_only() {
    let server = TestServer::start(|_| {}, |_| {}).await;
    let anonymous = server.anonymous().await;
    let healthz = get(&anonymous, "/healthz").await;
    assert_eq!((healthz.status, healthz.body.as_str()), (200, "ok"));
    assert_eq!(get(&anonymous, "/version").await.json()["major"], "1");

    let api = get(&anonymous, "/api").await;
    assert_eq!(api.status, 401);
    let status = api.json();
    assert_eq!(
        (
            status["kind"].as_str(),
            status["reason"].as_str(),
            status["code"].as_i64()
        ),
        (Some("Status"), Some("Unauthorized"), Some(401))
    );
    assert_eq!(get(&anonymous, "/").await.status, 401);
}

#[tokio::test]
async fn the_generated_kubeconfig_works_for_the_admin() {
    let server = TestServer::start(|_| {}, |_| {}).await;
    let admin = server.admin().await;
    let version = admin.apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "37")
    );
    let api = get(&admin, "/api").await;
    assert_eq!(
        (api.status, api.json()["kind"].as_str()),
        (200, Some("APIVersions"))
    );

    let index = get(&admin, "/").await.json();
    let paths: Vec<&str> = index["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for expected in [
        "/api",
        "/healthz",
        "/healthz/ping",
        "/livez/log",
        "/readyz/shutdown",
        "/version",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "{paths:?}");

    let missing = get(&admin, "/no/such/path").await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "404 page not found\n")
    );
}

#[tokio::test]
async fn audit_id_is_echoed_or_made_up() {
    let server = TestServer::start(|_| {}, |_| {}).await;
    let admin = server.admin().await;
    let given = send(
        &admin,
        http::Request::get("/api")
            .header("Audit-ID", "trace-42")
            .body(Vec::new())
            .unwrap(),
    )
    .await;
    assert_eq!(given.headers["audit-id"], "trace-42");
    let made = get(&server.anonymous().await, "/api").await;
    assert_eq!(made.status, 401);
    assert!(uuid::Uuid::parse_str(made.headers["audit-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn a_non_master_over_the_limit_gets_429_while_the_admin_is_exempt() {
    let server = TestServer::start(|c| c.limits.max_requests_inflight = 1, |_| {}).await;
    let dev = Arc::new(server.user("jane", "developers").await);
    let holder = {
        let dev = dev.clone();
        tokio::spawn(async move { get(&dev, "/api/v1/blocked").await })
    };
    // Wait until the first request holds the only read-only slot.
    let mut rejected = None;
    for _ in 0..100 {
        let reply = get(&dev, "/api").await;
        if reply.status == 429 {
            rejected = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rejected = rejected.expect("no 429 while the slot was held");
    assert_eq!(rejected.headers["retry-after"], "1");
    let status = rejected.json();
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(status["details"]["retryAfterSeconds"], 1);

    let admin = server.admin().await;
    assert_eq!(
        get(&admin, "/api").await.status,
        200,
        "system:masters is exempt"
    );
    assert_eq!(get(&dev, "/readyz").await.status, 200, "probes are exempt");
    server.stub.release.notify_waiters();
    assert_eq!(holder.await.unwrap().status, 200);
    assert_eq!(get(&dev, "/api").await.status, 200);
}

#[tokio::test]
async fn bodies_over_3_mib_are_413() {
    let server = TestServer::start(|_| {}, |_| {}).await;
    let admin = server.admin().await;
    let post = |size: usize| {
        http::Request::post("/api/v1/namespaces/default/pods")
            .header("content-type", "application/json")
            .body(vec![b' '; size])
            .unwrap()
    };
    let small = send(&admin, post(1024)).await;
    assert_eq!((small.status, small.body.as_str()), (200, "1024"));
    let big = send(&admin, post(4 << 20)).await;
    assert_eq!(big.status, 413);
    assert_eq!(big.json()["reason"], "RequestEntityTooLarge");
    assert_eq!(
        big.json()["message"],
        "Request entity too large: limit is 3145728"
    );
}

#[tokio::test]
async fn slow_requests_time_out_with_504() {
    let server = TestServer::start(
        |c| c.limits.request_timeout = Duration::from_millis(500),
        |_| {},
    )
    .await;
    let admin = server.admin().await;
    let slow = get(&admin, "/api/v1/slow?ms=5000").await;
    assert_eq!(slow.status, 504);
    assert_eq!(slow.json()["reason"], "Timeout");
    assert_eq!(
        slow.json()["message"],
        "Timeout: request did not complete within the allotted timeout"
    );
    assert_eq!(get(&admin, "/api/v1/slow?ms=10").await.status, 200);
    // A watch is long-running: it still streams after the request timeout has passed.
    let response = admin
        .send(
            http::Request::get("/api/v1/namespaces/default/pods?watch=1")
                .body(kube::client::Body::from(Vec::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let frame = tokio::time::timeout(
        Duration::from_secs(2),
        http_body_util::BodyExt::frame(&mut body),
    )
    .await;
    assert!(
        matches!(frame, Ok(Some(Ok(_)))),
        "the watch stopped streaming"
    );
}

#[tokio::test]
async fn readiness_waits_for_post_start_hooks() {
    let release = Arc::new(Notify::new());
    let hook_release = release.clone();
    let server = TestServer::start(
        |_| {},
        |s| {
            s.add_post_start_hook("wait-for-test", move |_ctx| async move {
                hook_release.notified().await;
                Ok(())
            });
            s.add_health_check("etcd", || async { Ok(()) });
        },
    )
    .await;
    let anonymous = server.anonymous().await;
    let waiting = get(&anonymous, "/readyz?verbose").await;
    assert_eq!(waiting.status, 500);
    assert!(waiting.body.contains("[+]etcd ok\n"), "{}", waiting.body);
    assert!(
        waiting
            .body
            .contains("[-]poststarthook/wait-for-test failed: reason withheld\n"),
        "{}",
        waiting.body
    );
    assert!(
        waiting.body.ends_with("readyz check failed\n"),
        "{}",
        waiting.body
    );
    release.notify_one();
    let mut ready = get(&anonymous, "/readyz").await;
    for _ in 0..100 {
        if ready.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        ready = get(&anonymous, "/readyz").await;
    }
    assert_eq!((ready.status, ready.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn tls_offers_h2_and_http1_and_a_foreign_client_cert_is_refused() {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

    let server = TestServer::start(|_| {}, |_| {}).await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(server.ca().cert_pem().as_bytes()).unwrap())
        .unwrap();
    let handshake = |alpn: Vec<Vec<u8>>, cert: Option<capstan::server::certs::KeyedCert>| {
        let roots = roots.clone();
        let addr = server.addr;
        async move {
            let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
            let mut config = match cert {
                Some(c) => builder
                    .with_client_auth_cert(
                        vec![CertificateDer::from_pem_slice(c.cert_pem.as_bytes()).unwrap()],
                        PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes()).unwrap(),
                    )
                    .unwrap(),
                None => builder.with_no_client_auth(),
            };
            config.alpn_protocols = alpn;
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let mut tls = connector
                .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
                .await?;
            // TLS 1.3 reports a refused client certificate on the first read.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await?;
            let mut answer = Vec::new();
            tls.read_to_end(&mut answer).await?;
            Ok::<_, std::io::Error>((tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec), answer))
        }
    };
    let (alpn, _) = handshake(vec![b"h2".to_vec(), b"http/1.1".to_vec()], None)
        .await
        .unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (alpn, answer) = handshake(vec![b"http/1.1".to_vec()], None).await.unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));

    let (foreign_ca, _) = capstan::server::certs::CertificateAuthority::generate().unwrap();
    let forged = foreign_ca
        .issue_client_cert("capstan-admin", Some("system:masters"))
        .unwrap();
    assert!(
        handshake(vec![b"http/1.1".to_vec()], Some(forged))
            .await
            .is_err()
    );
}
