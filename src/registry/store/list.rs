//! List, as kube's `Store.List` over the etcd3 store's `GetList`.
//!
//! Reads go in chunks from one revision: the first chunk fixes it (the latest, or the one asked
//! for), later chunks and later pages (through the continue token) read at the same revision.
//! Selectors filter while paging, so a page may need several chunks to fill up, as in kube; the
//! continue token then points just after the last key examined.

use super::Store;
use crate::api::ApiError;
use crate::api::options::{
    ListOptions, ReadAt, decode_continue, encode_continue, list_options_errors, list_options_kind,
};
use crate::registry::{JsonItem, ListResult, RequestContext, Strategy, codec};
use crate::storage::{KeyValue, ListRequest, StorageError};

/// kube's cap on how far a chunk grows while selectors drop items.
const MAX_CHUNK: usize = 10_000;

/// kube's message when a continue token expired and no fresh one can be made.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";

impl<S: Strategy> Store<S> {
    /// Lists the request's namespace (or all) per `opts`, items as JSON values; see the module doc.
    pub(super) async fn list_values(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        self.list_items(ctx, opts, |kv| {
            codec::decode_value_at(&kv.value, kv.mod_revision)
        })
        .await
    }

    /// [`Store::list_values`] with items as compact JSON text, for plain JSON responses.
    pub(super) async fn list_json_items(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<ListResult<JsonItem>, ApiError> {
        self.list_items(ctx, opts, |kv| {
            codec::decode_json_at(&kv.value, kv.mod_revision)
        })
        .await
    }

    /// Lists per `opts`, each selected object becoming an item through `item`.
    async fn list_items<T>(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
        item: impl Fn(&KeyValue) -> Result<T, ApiError>,
    ) -> Result<ListResult<T>, ApiError> {
        let as_list = ListOptions {
            watch: false,
            ..opts.clone()
        };
        let errs = list_options_errors(&as_list);
        if !errs.is_empty() {
            return Err(ApiError::invalid(list_options_kind(), "", errs));
        }
        self.check_field_labels(&opts.field_selector)?;
        let read_at = ReadAt::for_list(opts)?;
        let prefix = self.collection_key(ctx);
        let selection = self.selection(opts);
        let limit = opts
            .limit
            .filter(|l| *l > 0)
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX));

        let token = opts.continue_token.as_deref().filter(|t| !t.is_empty());
        let (mut start, mut revision) = match token {
            Some(token) => {
                let (key, rv) = decode_continue(token, &prefix)?;
                let sent_rv = opts.resource_version.as_deref().unwrap_or("");
                if !sent_rv.is_empty() && sent_rv != "0" {
                    return Err(ApiError::BadRequest(
                        "specifying resource version is not allowed when using continue".into(),
                    ));
                }
                (Some(key), (rv > 0).then_some(rv))
            }
            None => (
                None,
                match read_at {
                    ReadAt::Exact(rv) => Some(rv),
                    _ => None,
                },
            ),
        };

        // kube's Store.List reads only the named object when the field selector pins
        // `metadata.name` and its key is known: one read, no paging, whatever the limit.
        let single = self.single_object_key(ctx, opts, token.is_some());
        let limit = if single.is_some() { None } else { limit };
        if let Some(key) = &single {
            start = Some(key.clone());
        }

        let mut items = Vec::new();
        let mut last_key: Option<String> = None;
        let mut chunk = if single.is_some() { Some(1) } else { limit };
        let (has_more, remaining) = loop {
            let request = ListRequest {
                prefix: prefix.clone(),
                revision,
                start_key: start.clone(),
                limit: chunk,
            };
            let resp = match self.storage.list(request).await {
                Ok(resp) => resp,
                Err(err) => return Err(self.list_error(err, token.and(start.as_deref()), &prefix)),
            };
            if revision.is_none() {
                // The first read at the latest revision: it must have reached the one asked for.
                if let (ReadAt::NotOlderThan(min), None) = (read_at, token)
                    && min > resp.revision
                {
                    return Err(ApiError::TooLargeResourceVersion {
                        requested: min,
                        current: resp.revision,
                    });
                }
                revision = Some(resp.revision);
            }
            let mut limit_reached = false;
            let (more, remaining) = (resp.more, resp.remaining);
            items.reserve(resp.items.len());
            for kv in resp.items {
                if limit.is_some_and(|l| items.len() >= l) {
                    limit_reached = true;
                    break;
                }
                if selection.matches_stored(&kv)? {
                    items.push(item(&kv)?);
                }
                last_key = Some(kv.key);
            }
            if single.is_some() {
                break (false, None);
            }
            if limit_reached || !more || limit.is_some_and(|l| items.len() >= l) {
                break (more || limit_reached, remaining);
            }
            start = last_key.as_ref().map(|k| format!("{k}\0"));
            // Selectors dropped items: read bigger chunks, as kube doubles up to its cap.
            chunk = chunk.map(|c| {
                if c < MAX_CHUNK {
                    (c * 2).min(MAX_CHUNK)
                } else {
                    c
                }
            });
        };

        let revision = revision.unwrap_or(0);
        let mut result = ListResult {
            items,
            resource_version: revision.to_string(),
            continue_token: None,
            remaining_item_count: None,
        };
        if has_more && let Some(last) = last_key {
            result.continue_token = Some(encode_continue(&format!("{last}\0"), &prefix, revision)?);
            if selection.selects_all() {
                result.remaining_item_count = remaining;
            }
        }
        Ok(result)
    }

    /// The key of the one object a list can be narrowed to: its field selector requires a
    /// `metadata.name` and the namespace is known (or the kind has none). A continued list keeps
    /// paging as it started.
    fn single_object_key(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
        continued: bool,
    ) -> Option<String> {
        if continued {
            return None;
        }
        let name = opts.field_selector.required_value("metadata.name")?;
        let namespace_known = ctx.namespace.as_deref().is_some_and(|ns| !ns.is_empty());
        if self.descriptor.namespaced && !namespace_known {
            return None;
        }
        self.object_key(ctx, name).ok()
    }

    /// Storage errors of a list: a compacted revision is 410 (with a fresh token continuing at the
    /// latest revision when the request continued a list), a future one kube's 504.
    fn list_error(&self, err: StorageError, continue_key: Option<&str>, prefix: &str) -> ApiError {
        match err {
            StorageError::Compacted { .. } => match continue_key {
                Some(key) => match encode_continue(key, prefix, -1) {
                    Ok(token) => ApiError::ExpiredContinue {
                        continue_token: token,
                    },
                    Err(_) => ApiError::Expired {
                        message: CONTINUE_EXPIRED.into(),
                    },
                },
                None => ApiError::Expired {
                    message: "The resourceVersion for the provided list is too old.".into(),
                },
            },
            other => self.storage_error(other, ""),
        }
    }
}
