//! Watch (`watch=true` or the `/watch/` prefix): a chunked `application/json` stream of
//! `{"type","object"}` events, one JSON object per line, each sent as soon as it is encoded.
//!
//! The stream ends at `timeoutSeconds`, or without it after a random duration in
//! `[MinRequestTimeout, 2*MinRequestTimeout)` as kube spreads reconnects; right after an `ERROR`
//! event (410 Expired after compaction, also when the `Rest` refuses the resourceVersion up
//! front); or when the `Rest` stream ends. Nothing is spawned: the
//! body owns the event stream, so a client that disconnects drops the body and with it the watch.
//!
//! With `as=Table` (kubectl get -w) each object becomes a one-row Table and only the first event
//! carries `columnDefinitions` (k8s.io/apiserver `watchEmbeddedEncoder`); with
//! `as=PartialObjectMetadata` each object is reduced to its metadata. Status objects are sent as
//! they are.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Sleep;

use super::Scope;
use crate::api::ApiError;
use crate::api::options::ListOptions;
use crate::api::selectors::fields::{FieldOp, FieldRequirement, FieldSelector};
use crate::endpoints::negotiation::{Conversion, Restrictions};
use crate::endpoints::query;
use crate::endpoints::response::Writer;
use crate::endpoints::status::is_status;
use crate::endpoints::table;
use crate::registry::{Rest, WatchEvent, WatchEvents};

/// Starts the watch and answers 200 with the event stream; errors before the first event
/// (bad options, unknown resource version) are ordinary Status responses.
pub async fn watch(scope: &Scope) -> Result<Response, ApiError> {
    let writer = scope.writer(Restrictions::WATCH)?;
    let mut opts = query::list_options(&scope.query, true)?;
    if let Some(name) = &scope.name {
        pin_name(&mut opts, name)?;
    }
    let timeout = watch_timeout(opts.timeout_seconds, scope.config.min_request_timeout);
    let events = match scope.rest.watch(&scope.ctx, &opts).await {
        Ok(events) => events,
        // A compacted resourceVersion is not a failed request in kube: the watch starts (200) and
        // its only event is the ERROR carrying 410 Expired, which informers take as "relist".
        Err(err @ ApiError::Expired { .. }) => {
            futures::stream::iter([WatchEvent::Error(err)]).boxed()
        }
        Err(err) => return Err(err),
    };
    let encoder = EventEncoder {
        rest: scope.rest.clone(),
        writer,
        headers_sent: false,
    };
    let body = Body::from_stream(frames(events, encoder, timeout, opts.allow_watch_bookmarks));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// A watch of one object (`/watch/namespaces/ns/pods/name`) is a watch of the collection
/// selecting that name; a field selector naming another is 400, as kube's `listOpts`.
fn pin_name(opts: &mut ListOptions, name: &str) -> Result<(), ApiError> {
    if opts.field_selector.is_empty() {
        opts.field_selector = FieldSelector {
            requirements: vec![FieldRequirement {
                field: "metadata.name".into(),
                op: FieldOp::Equals,
                value: name.into(),
            }],
        };
        return Ok(());
    }
    match opts.field_selector.required_value("metadata.name") {
        Some(selected) if selected == name => Ok(()),
        _ => Err(ApiError::BadRequest(
            "fieldSelector metadata.name doesn't match requested name".into(),
        )),
    }
}

/// How long a watch runs: `timeoutSeconds` when positive, else a random duration in
/// `[min, 2*min)`; a negative timeout ends the watch at once, as an expired Go context would.
pub fn watch_timeout(timeout_seconds: Option<i64>, min: Duration) -> Duration {
    match timeout_seconds {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
        Some(seconds) if seconds < 0 => Duration::ZERO,
        _ => min.mul_f64(1.0 + rand::random::<f64>()),
    }
}

/// The wire form of one event.
#[derive(Serialize)]
struct WireEvent<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    object: &'a Value,
}

/// Encodes events one line each, applying the negotiated conversion.
struct EventEncoder {
    rest: Arc<dyn Rest>,
    writer: Writer,
    /// Whether a Table event with `columnDefinitions` went out already.
    headers_sent: bool,
}

impl EventEncoder {
    fn encode(&mut self, event: WatchEvent) -> Bytes {
        let (type_, object) = match event {
            WatchEvent::Added(o) => ("ADDED", self.transform(o)),
            WatchEvent::Modified(o) => ("MODIFIED", self.transform(o)),
            WatchEvent::Deleted(o) => ("DELETED", self.transform(o)),
            WatchEvent::Bookmark(o) => ("BOOKMARK", self.transform(o)),
            WatchEvent::Error(err) => ("ERROR", status_value(&err)),
        };
        let mut line = match serde_json::to_vec(&WireEvent {
            type_,
            object: &object,
        }) {
            Ok(line) => line,
            Err(err) => {
                tracing::error!(%err, "watch event could not be encoded");
                let status = status_value(&ApiError::internal("watch event could not be encoded"));
                serde_json::to_vec(&WireEvent {
                    type_: "ERROR",
                    object: &status,
                })
                .unwrap_or_default()
            }
        };
        line.push(b'\n');
        Bytes::from(line)
    }

    fn transform(&mut self, object: Value) -> Value {
        if is_status(&object) {
            return object;
        }
        match self.writer.media.conversion {
            Conversion::None => object,
            Conversion::Table(version) => {
                let headers = !self.headers_sent;
                self.headers_sent = true;
                let table = table::object_table(
                    self.rest.as_ref(),
                    &object,
                    version,
                    self.writer.include,
                    headers,
                );
                serde_json::to_value(table).unwrap_or(object)
            }
            Conversion::PartialObjectMetadata(version)
            | Conversion::PartialObjectMetadataList(version) => {
                table::partial_object_metadata(&object, version)
            }
        }
    }
}

fn status_value(err: &ApiError) -> Value {
    serde_json::to_value(err.to_status()).unwrap_or(Value::Null)
}

/// What the body stream carries between frames.
struct Frames {
    events: WatchEvents,
    encoder: EventEncoder,
    deadline: Pin<Box<Sleep>>,
    bookmarks: bool,
    /// An ERROR event went out: the watch is over.
    done: bool,
}

/// The body: encoded events until the deadline, an ERROR event, or the end of `events`.
fn frames(
    events: WatchEvents,
    encoder: EventEncoder,
    timeout: Duration,
    bookmarks: bool,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let state = Frames {
        events,
        encoder,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        bookmarks,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let event = tokio::select! {
                biased;
                () = &mut st.deadline => return None,
                next = st.events.next() => next?,
            };
            match event {
                WatchEvent::Bookmark(_) if !st.bookmarks => continue,
                WatchEvent::Error(_) => st.done = true,
                _ => {}
            }
            let frame = st.encoder.encode(event);
            return Some((Ok(frame), st));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        let min = Duration::from_secs(1800);
        assert_eq!(watch_timeout(Some(5), min), Duration::from_secs(5));
        assert_eq!(watch_timeout(Some(-1), min), Duration::ZERO);
        for seconds in [None, Some(0)] {
            for _ in 0..50 {
                let t = watch_timeout(seconds, min);
                assert!(t >= min && t < 2 * min, "{t:?}");
            }
        }
    }

    #[test]
    fn named_watches_select_the_name() {
        let mut opts = ListOptions::default();
        pin_name(&mut opts, "p").unwrap();
        assert_eq!(
            opts.field_selector.required_value("metadata.name"),
            Some("p")
        );
        pin_name(&mut opts, "p").unwrap();
        let err = pin_name(&mut opts, "q").unwrap_err();
        assert_eq!(
            err.to_string(),
            "fieldSelector metadata.name doesn't match requested name"
        );
    }
}
