//! Periodic compaction of history, as kube-apiserver compacts etcd.
