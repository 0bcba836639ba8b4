//! Turning etcd-client errors into [`StorageError`]s.
//!
//! etcd reports compaction and future revisions as gRPC `OutOfRange` statuses whose messages are
//! its `mvcc` error strings (`ErrCompacted`, `ErrFutureRev` in etcd's server/storage/mvcc); kube's
//! `storage/etcd3` recognises them the same way, by message.

use crate::storage::{Revision, StorageError};

/// What the failed call was, so a revision error can name the revision asked for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    /// A range read or watch at `revision` (0: latest).
    Read {
        revision: Revision,
    },
    /// A compaction to `revision`.
    Compact {
        revision: Revision,
    },
    Other,
}

impl Op {
    fn revision(self) -> Revision {
        match self {
            Self::Read { revision } | Self::Compact { revision } => revision,
            Self::Other => 0,
        }
    }
}

const COMPACTED: &str = "required revision has been compacted";
const FUTURE: &str = "required revision is a future revision";

// gRPC status codes (fixed by the gRPC spec), compared as numbers so that tonic need not be a
// direct dependency.
const CANCELLED: i32 = 1;
const DEADLINE_EXCEEDED: i32 = 4;
const UNAVAILABLE: i32 = 14;

/// Classifies `err` from a call described by `op`. The compacted revision is not in etcd's range
/// error, so a compacted read reports it as 0 (unknown); watches learn it from the response.
pub(super) fn classify(err: etcd_client::Error, op: Op) -> StorageError {
    use etcd_client::Error as E;
    match err {
        E::GRpcStatus(status) => {
            let message = status.message();
            if message.contains(COMPACTED) {
                StorageError::Compacted {
                    requested: op.revision(),
                    compacted: 0,
                }
            } else if message.contains(FUTURE) {
                // The caller fills in the current revision.
                StorageError::FutureRevision {
                    requested: op.revision(),
                    current: 0,
                }
            } else if matches!(
                i32::from(status.code()),
                CANCELLED | DEADLINE_EXCEEDED | UNAVAILABLE
            ) {
                StorageError::Unavailable(format!("etcd: {message}"))
            } else {
                StorageError::Internal(format!("etcd: {status}"))
            }
        }
        E::TransportError(e) => StorageError::Unavailable(format!("etcd transport: {e}")),
        E::IoError(e) => StorageError::Unavailable(format!("etcd I/O: {e}")),
        E::InvalidArgs(e) | E::EndpointError(e) => {
            StorageError::InvalidArgument(format!("etcd endpoints: {e}"))
        }
        E::InvalidUri(e) => StorageError::InvalidArgument(format!("etcd endpoint URI: {e}")),
        other => StorageError::Internal(format!("etcd: {other}")),
    }
}
