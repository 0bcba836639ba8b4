//! Watch framing: one event per line, ERROR then end, timeouts, bookmarks, Table events and
//! client disconnects.

use std::time::Duration;

use super::*;

const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// Starts a watch and returns the response head and its body.
async fn start(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Body) {
    let response = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body)
}

/// The next data frame of a streaming body, `None` at its end.
async fn next_frame(body: &mut Body) -> Option<Bytes> {
    loop {
        let frame = body.frame().await?.unwrap();
        if let Ok(data) = frame.into_data() {
            return Some(data);
        }
    }
}

/// Reads a frame and checks it is exactly one newline-terminated JSON event.
async fn next_event(body: &mut Body) -> Option<Value> {
    let frame = next_frame(body).await?;
    let text = std::str::from_utf8(&frame).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    assert_eq!(
        text.matches('\n').count(),
        1,
        "one event per line: {text:?}"
    );
    Some(serde_json::from_str(text).unwrap())
}

fn watch_request(uri: &str) -> Request<Body> {
    request("GET", uri, None)
}

#[tokio::test]
async fn events_stream_one_per_line_and_end_with_the_source() {
    let s = server();
    let feed = s.pods.feed();
    let (code, headers, mut body) = start(
        &s.router,
        watch_request("/api/v1/namespaces/d/pods?watch=True"),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers.get("content-length").is_none(),
        "a watch is chunked"
    );

    feed.send(WatchEvent::Added(pod("d", "a"))).unwrap();
    let event = next_event(&mut body).await.unwrap();
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["name"], "a");
    feed.send(WatchEvent::Modified(pod("d", "a"))).unwrap();
    feed.send(WatchEvent::Deleted(pod("d", "a"))).unwrap();
    assert_eq!(next_event(&mut body).await.unwrap()["type"], "MODIFIED");
    assert_eq!(next_event(&mut body).await.unwrap()["type"], "DELETED");
    drop(feed);
    assert!(next_frame(&mut body).await.is_none());

    let opts = s.pods.last_list.lock().unwrap().clone().unwrap();
    assert!(opts.watch);
    assert_eq!(
        opts.send_initial_events,
        Some(true),
        "kube's WatchList defaulting for a watch from now"
    );
}

#[tokio::test]
async fn an_error_event_carries_a_status_and_ends_the_watch() {
    let s = server();
    let feed = s.pods.feed();
    let (_, _, mut body) = start(&s.router, watch_request("/api/v1/watch/namespaces/d/pods")).await;
    feed.send(WatchEvent::Error(ApiError::Expired {
        message: "too old resource version: 2 (9)".into(),
    }))
    .unwrap();
    feed.send(WatchEvent::Added(pod("d", "late"))).unwrap();
    let event = next_event(&mut body).await.unwrap();
    assert_eq!(event["type"], "ERROR");
    assert_eq!(
        assert_status(&event["object"], 410, "Expired"),
        "too old resource version: 2 (9)"
    );
    assert!(
        next_frame(&mut body).await.is_none(),
        "nothing follows an ERROR event"
    );
    assert!(s.pods.watch_dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_compacted_resource_version_is_a_200_with_one_error_event() {
    let s = server();
    let uri = "/api/v1/namespaces/d/pods?watch=1&resourceVersion=1";
    let (code, _, mut body) = start(&s.router, watch_request(uri)).await;
    assert_eq!(code, StatusCode::OK);
    let event = next_event(&mut body).await.unwrap();
    assert_eq!(event["type"], "ERROR");
    assert_status(&event["object"], 410, "Expired");
    assert!(next_frame(&mut body).await.is_none());
}

#[tokio::test]
async fn errors_before_the_stream_are_plain_status_responses() {
    let s = server();
    let (code, body) = call(
        &s.router,
        watch_request("/api/v1/namespaces/d/pods?watch=1&timeoutSeconds=x"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_status(&body, 400, "BadRequest");
    let req = Request::get("/api/v1/namespaces/d/pods?watch=1")
        .header("accept", "application/yaml")
        .body(Body::empty())
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    assert_status(&body, 406, "NotAcceptable");
}

#[tokio::test(start_paused = true)]
async fn the_watch_ends_at_timeout_seconds() {
    let s = server();
    let _feed = s.pods.feed();
    let started = tokio::time::Instant::now();
    let (_, _, mut body) = start(
        &s.router,
        watch_request("/api/v1/namespaces/d/pods?watch=1&timeoutSeconds=5"),
    )
    .await;
    assert!(next_frame(&mut body).await.is_none());
    assert_eq!(started.elapsed().as_secs(), 5);
    assert!(s.pods.watch_dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn without_a_timeout_the_watch_ends_within_twice_the_minimum() {
    let s = server();
    let _feed = s.pods.feed();
    let started = tokio::time::Instant::now();
    let (_, _, mut body) = start(&s.router, watch_request("/api/v1/pods?watch=1")).await;
    assert!(next_frame(&mut body).await.is_none());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1800) && elapsed < Duration::from_secs(3600),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn bookmarks_only_when_asked_for() {
    let s = server();
    let bookmark =
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "12"}});
    let feed = s.pods.feed();
    let (_, _, mut body) = start(
        &s.router,
        watch_request("/api/v1/namespaces/d/pods?watch=1"),
    )
    .await;
    feed.send(WatchEvent::Bookmark(bookmark.clone())).unwrap();
    feed.send(WatchEvent::Added(pod("d", "a"))).unwrap();
    assert_eq!(next_event(&mut body).await.unwrap()["type"], "ADDED");

    let feed = s.pods.feed();
    let uri = "/api/v1/namespaces/d/pods?watch=1&allowWatchBookmarks=true";
    let (_, _, mut body) = start(&s.router, watch_request(uri)).await;
    feed.send(WatchEvent::Bookmark(bookmark.clone())).unwrap();
    let event = next_event(&mut body).await.unwrap();
    assert_eq!(event, json!({"type": "BOOKMARK", "object": bookmark}));
}

#[tokio::test]
async fn kubectl_get_watch_sends_one_row_tables() {
    let s = server();
    let feed = s.widgets.feed();
    let req = Request::get("/apis/capstan.dev/v1/namespaces/d/widgets?watch=1&resourceVersion=7")
        .header("accept", KUBECTL_ACCEPT)
        .body(Body::empty())
        .unwrap();
    let (code, _, mut body) = start(&s.router, req).await;
    assert_eq!(code, StatusCode::OK);
    let mut w = pod("d", "w1");
    w["metadata"]["resourceVersion"] = json!("8");
    feed.send(WatchEvent::Added(w.clone())).unwrap();
    feed.send(WatchEvent::Modified(w)).unwrap();
    let first = next_event(&mut body).await.unwrap();
    assert_eq!(first["type"], "ADDED");
    let table = &first["object"];
    assert_eq!(
        (table["kind"].as_str(), table["apiVersion"].as_str()),
        (Some("Table"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(table["columnDefinitions"].as_array().unwrap().len(), 2);
    assert_eq!(table["rows"].as_array().unwrap().len(), 1);
    assert_eq!(table["rows"][0]["cells"], json!(["w1", "Running"]));
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(table["metadata"]["resourceVersion"], "8");
    let second = next_event(&mut body).await.unwrap();
    assert_eq!(second["type"], "MODIFIED");
    assert!(
        second["object"].get("columnDefinitions").is_none(),
        "only the first event has headers"
    );
    assert_eq!(second["object"]["rows"][0]["cells"][0], "w1");
}

/// client-go's metadata informer (metadata.go Watch): protobuf first, then JSON, both
/// `as=PartialObjectMetadata`; every event, bookmarks included, is reduced to metadata, and the
/// end-of-initial-events annotation survives so that a watch-list can finish.
#[tokio::test]
async fn metadata_watches_send_partial_object_metadata() {
    let s = server();
    let feed = s.pods.feed();
    let accept = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
    let uri = "/api/v1/namespaces/d/pods?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan";
    let req = Request::get(uri)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let (code, headers, mut body) = start(&s.router, req).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");

    let mut p = pod("d", "p");
    p["metadata"]["labels"] = json!({"app": "web"});
    feed.send(WatchEvent::Added(p.clone())).unwrap();
    let bookmark = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {
        "resourceVersion": "12", "annotations": {"k8s.io/initial-events-end": "true"}}});
    feed.send(WatchEvent::Bookmark(bookmark)).unwrap();
    feed.send(WatchEvent::Modified(p.clone())).unwrap();
    feed.send(WatchEvent::Deleted(p)).unwrap();

    let added = next_event(&mut body).await.unwrap();
    assert_eq!(added["type"], "ADDED");
    assert_eq!(
        added["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {
            "name": "p", "namespace": "d", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web"}}})
    );
    let bookmark = next_event(&mut body).await.unwrap();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        bookmark["object"]["metadata"],
        json!({"resourceVersion": "12", "annotations": {"k8s.io/initial-events-end": "true"}})
    );
    for kind in ["MODIFIED", "DELETED"] {
        let event = next_event(&mut body).await.unwrap();
        assert_eq!(event["type"], kind);
        assert_eq!(event["object"]["kind"], "PartialObjectMetadata");
        assert!(event["object"].get("spec").is_none());
    }

    // meta.k8s.io/v1beta1, as older clients ask.
    let feed = s.pods.feed();
    let req = Request::get("/api/v1/namespaces/d/pods?watch=1")
        .header(
            "accept",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
        )
        .body(Body::empty())
        .unwrap();
    let (_, _, mut body) = start(&s.router, req).await;
    feed.send(WatchEvent::Added(pod("d", "q"))).unwrap();
    let added = next_event(&mut body).await.unwrap();
    assert_eq!(added["object"]["apiVersion"], "meta.k8s.io/v1beta1");
}

#[tokio::test]
async fn named_watches_select_the_object() {
    let s = server();
    let _feed = s.pods.feed();
    let (code, _, body) = start(
        &s.router,
        watch_request("/api/v1/watch/namespaces/d/pods/p?timeoutSeconds=1"),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    drop(body);
    let opts = s.pods.last_list.lock().unwrap().clone().unwrap();
    assert_eq!(
        opts.field_selector.required_value("metadata.name"),
        Some("p")
    );
    let (code, _) = call(&s.router, watch_request("/api/v1/watch/pods/p")).await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "a namespaced object needs its namespace"
    );
}

#[tokio::test]
async fn a_client_that_goes_away_ends_the_watch() {
    let s = server();
    let feed = s.pods.feed();
    let (_, _, mut body) = start(&s.router, watch_request("/api/v1/pods?watch=true")).await;
    feed.send(WatchEvent::Added(pod("d", "a"))).unwrap();
    assert!(next_event(&mut body).await.is_some());
    assert!(!s.pods.watch_dropped.load(Ordering::SeqCst));
    drop(body);
    assert!(
        s.pods.watch_dropped.load(Ordering::SeqCst),
        "dropping the body drops the watch"
    );
    assert!(
        feed.send(WatchEvent::Added(pod("d", "b"))).is_err(),
        "nobody listens any more"
    );
}

/// Reads from `stream` into `buf` until `needle` appears, failing after five seconds.
async fn read_until(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>, needle: &[u8]) {
    use tokio::io::AsyncReadExt;
    let wait = async {
        while !buf.windows(needle.len()).any(|w| w == needle) {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "connection closed early: {}",
                String::from_utf8_lossy(buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("timed out waiting for the server");
}

#[tokio::test]
async fn each_event_is_flushed_as_a_chunk_on_a_real_connection() {
    use tokio::io::AsyncWriteExt;
    let s = server();
    let feed = s.pods.feed();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(axum::serve(listener, s.router.clone()).into_future());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/namespaces/d/pods?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    read_until(&mut stream, &mut received, b"\r\n\r\n").await;
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");

    for name in ["a", "b"] {
        // Each event reaches the client while the watch stays open.
        feed.send(WatchEvent::Added(pod("d", name))).unwrap();
        let marker = format!("\"name\":\"{name}\"");
        read_until(&mut stream, &mut received, marker.as_bytes()).await;
        read_until(&mut stream, &mut received, b"}\n").await;
    }
    serving.abort();
}
