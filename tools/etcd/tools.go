//go:build tools

// Package tools pins the etcd server that Capstan's tests start on loopback.
package tools

import _ "go.etcd.io/etcd/server/v3"
