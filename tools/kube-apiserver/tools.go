//go:build tools

// Package tools pins the kube-apiserver that Capstan's benchmark (and aggregation tests) run beside
// Capstan on the same etcd.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
