//! Admission plugins; NamespaceLifecycle first.
