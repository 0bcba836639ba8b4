#!/usr/bin/env bash
# Regenerates the data Capstan's protobuf decoder (src/api/protobuf) embeds, from the Kubernetes
# modules pinned in tools/protobuf/go.mod (k8s.io/api, k8s.io/apimachinery; Apache-2.0):
#
#   src/api/protobuf/k8s.fds      FileDescriptorSet of the served groups' .proto files (protoc)
#   src/api/protobuf/gotypes.txt  what only the Go types say: kind -> message, and how each field
#                                 is written as JSON (pointer, omitempty, omitzero, always)
#   src/api/protobuf/testdata/go/ protobuf bytes from apimachinery's serializer + Go's JSON of them
#                                 (testdata/kubectl/ holds bodies captured from kubectl, by hand)
#
# Needs go (modules come from the Go module proxy) and protoc. Building Capstan needs neither:
# the outputs are committed. To serve another group, add its .proto below and its AddToScheme in
# tools/protobuf/main.go, then rerun.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools/protobuf"
out="$root/src/api/protobuf"

module_dir() {
  (cd "$tools" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}
api=$(module_dir k8s.io/api)
apimachinery=$(module_dir k8s.io/apimachinery)
[ -d "$api" ] && [ -d "$apimachinery" ] || { echo "could not download the k8s.io modules" >&2; exit 1; }

# protoc resolves `import "k8s.io/apimachinery/..."` against an include root laid out by import path.
include=$(mktemp -d)
trap 'rm -rf "$include"' EXIT
mkdir -p "$include/k8s.io"
ln -s "$api" "$include/k8s.io/api"
ln -s "$apimachinery" "$include/k8s.io/apimachinery"

protos=(
  k8s.io/api/core/v1/generated.proto
  k8s.io/api/coordination/v1/generated.proto
  k8s.io/api/events/v1/generated.proto
  k8s.io/api/policy/v1/generated.proto
  k8s.io/api/authentication/v1/generated.proto
  k8s.io/api/authorization/v1/generated.proto
  k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
  k8s.io/apimachinery/pkg/runtime/generated.proto
  k8s.io/apimachinery/pkg/runtime/schema/generated.proto
  k8s.io/apimachinery/pkg/api/resource/generated.proto
  k8s.io/apimachinery/pkg/util/intstr/generated.proto
)
protoc -I "$include" --include_imports --descriptor_set_out="$out/k8s.fds" "${protos[@]}"

(cd "$tools" && go run . gotypes) >"$out/gotypes.txt.tmp"
mv "$out/gotypes.txt.tmp" "$out/gotypes.txt"

rm -rf "$out/testdata/go"
mkdir -p "$out/testdata/go"
(cd "$tools" && go run . vectors "$out/testdata/go")

echo "generated from k8s.io/api $(basename "$api" | sed 's/.*@//') and k8s.io/apimachinery $(basename "$apimachinery" | sed 's/.*@//')" >&2
