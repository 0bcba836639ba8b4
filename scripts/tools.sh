#!/usr/bin/env bash
# Builds the real components Capstan's tests start (etcd, …) from the Go module proxy into a
# git-ignored cache, once per pinned version, and prints the path of each binary asked for.
#
#   scripts/tools.sh etcd            -> .cache/tools/etcd-v3.6.16/etcd
#   scripts/tools.sh informer        -> .cache/tools/informer-v0.37.2-<source hash>/informer
#   scripts/tools.sh clientgo        -> .cache/tools/clientgo-v0.37.2-<source hash>/clientgo
#
# Each tool has its own Go module under tools/<name>/ (go.mod + go.sum pin every dependency);
# etcd's own go.mod has `replace` lines, so it cannot simply be `go install`ed. The informer is
# our own client-go program (tools/informer/main.go) that the client acceptance tests run;
# clientgo (tools/clientgo) runs client-go scenarios (typed, dynamic, metadata and discovery
# clients, selector informers, relisting after 410, namespace deletion) for tests/clients_go.rs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${CAPSTAN_TOOLS_CACHE:-$root/.cache/tools}"

# name -> Go package built from tools/<name> ("." is the tool's own main package there)
package_of() {
  case "$1" in
    etcd) echo "go.etcd.io/etcd/server/v3" ;;
    informer | clientgo) echo "." ;;
    *) echo "unknown tool: $1" >&2; return 1 ;;
  esac
}

# name -> the package whose pinned module version names the build (the built package by default)
pinned_package_of() {
  case "$1" in
    informer | clientgo) echo "k8s.io/client-go/tools/cache" ;;
    *) package_of "$1" ;;
  esac
}

# The version pinned in tools/<name>/go.mod; for a tool with its own sources, followed by a hash
# of them, so that editing the program rebuilds it.
version_of() {
  local version
  version=$(pinned_version_of "$1")
  if [ -n "$version" ] && [ "$(package_of "$1")" = "." ]; then
    version="$version-$(cd "$root/tools/$1" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
  fi
  echo "$version"
}

pinned_version_of() {
  local mod="$root/tools/$1/go.mod" pkg
  pkg=$(pinned_package_of "$1")
  # the module that provides the package: the longest required module path that prefixes it
  awk -v pkg="$pkg" '
    $1 == "require" && NF >= 3 { m = $2; v = $3 }
    NF == 2 && $1 !~ /^(module|go|require|\)|replace|tool)/ { m = $1; v = $2 }
    m != "" && index(pkg, m) == 1 && length(m) > best { best = length(m); ver = v }
    { m = "" }
    END { print ver }' "$mod"
}

build() {
  local name=$1 pkg version out
  pkg=$(package_of "$name")
  version=$(version_of "$name")
  [ -n "$version" ] || { echo "no pinned version for $name in tools/$name/go.mod" >&2; return 1; }
  out="$cache/$name-$version/$name"
  if [ ! -x "$out" ]; then
    echo "building $name $version (once; cached in $cache)" >&2
    mkdir -p "$(dirname "$out")"
    (cd "$root/tools/$name" && GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" "$pkg") >&2
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

[ $# -gt 0 ] || { echo "usage: $0 <tool>..." >&2; exit 2; }
for t in "$@"; do build "$t"; done
