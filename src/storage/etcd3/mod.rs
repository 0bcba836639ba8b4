//! The etcd3 backend on etcd-client.
