//! The query and path parameters of operations, described in Capstan's words.
//!
//! Only parameters Capstan honours are listed (kube's `shardSelector` and
//! `ignoreStoreReadErrorWithClusterBreakingPotential` are not), so a client reading the document
//! never sends one that would be ignored.

use super::operations::{In, Param};

pub(super) fn path_param(name: &'static str, description: &str) -> Param {
    Param {
        name,
        location: In::Path,
        description: description.to_string(),
        ty: "string",
    }
}

fn query(name: &'static str, ty: &'static str, description: &str) -> Param {
    Param {
        name,
        location: In::Query,
        description: description.to_string(),
        ty,
    }
}

pub(super) fn pretty() -> Param {
    query(
        "pretty",
        "string",
        "If 'true', the output is pretty printed.",
    )
}

/// dryRun, fieldManager, fieldValidation (and force for patches).
pub(super) fn write_params(patch: bool) -> Vec<Param> {
    let mut params = vec![
        query(
            "dryRun",
            "string",
            "When present, the request is processed but nothing is persisted. The only valid \
             value is 'All': every dry-run stage is processed.",
        ),
        query(
            "fieldManager",
            "string",
            "The name of the actor making the change, at most 128 characters. Required for \
             apply patches; optional otherwise.",
        ),
        query(
            "fieldValidation",
            "string",
            "What to do with unknown or duplicate fields in the body: 'Ignore' drops them \
             silently; 'Warn' (the default) drops them and sends a Warning header for each; \
             'Strict' fails the request with BadRequest naming every one of them.",
        ),
    ];
    if patch {
        params.push(query(
            "force",
            "boolean",
            "Apply patches only: take over fields other managers own instead of failing with a \
             conflict. Must be unset for other patch types.",
        ));
    }
    params
}

pub(super) fn delete_params() -> Vec<Param> {
    vec![
        query(
            "dryRun",
            "string",
            "When present, the request is processed but nothing is persisted. The only valid \
             value is 'All': every dry-run stage is processed.",
        ),
        query(
            "gracePeriodSeconds",
            "integer",
            "Seconds to wait before the object is deleted; zero deletes at once. Without it the \
             kind's default applies.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
        ),
        query(
            "propagationPolicy",
            "string",
            "How the garbage collector treats dependents: 'Orphan', 'Background' or \
             'Foreground'. Without it, the object's finalizers and the kind's default decide.",
        ),
    ]
}

pub(super) fn list_params() -> Vec<Param> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "Ask for BOOKMARK events on a watch. The server sends them when it chooses; ignored \
             when not watching.",
        ),
        query(
            "continue",
            "string",
            "The token a previous page of the same list returned, to fetch the next page. An \
             expired token is answered with 410 Gone.",
        ),
        query(
            "fieldSelector",
            "string",
            "Only return objects whose fields match this selector.",
        ),
        query(
            "labelSelector",
            "string",
            "Only return objects whose labels match this selector.",
        ),
        query(
            "limit",
            "integer",
            "The most objects to return in one response; a continue token is returned when more \
             remain.",
        ),
        query(
            "resourceVersion",
            "string",
            "Which resource versions the request may be served from; see resourceVersionMatch. \
             Unset means the most recent data.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion applies to a list: 'NotOlderThan' or 'Exact'.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "With watch=true, begin with an ADDED event per existing object, then a BOOKMARK \
             annotated \"k8s.io/initial-events-end\", then the changes.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Ends the list or watch call after this many seconds, whatever its activity.",
        ),
        query(
            "watch",
            "boolean",
            "Stream changes to the described objects as added, modified and deleted events \
             instead of listing them.",
        ),
    ]
}
