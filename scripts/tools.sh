#!/usr/bin/env bash
# Builds the real components Capstan's tests start (etcd, …) from the Go module proxy into a
# git-ignored cache, once per pinned version, and prints the path of each binary asked for.
#
#   scripts/tools.sh etcd            -> .cache/tools/etcd-v3.6.16/etcd
#   scripts/tools.sh informer        -> .cache/tools/informer-v0.37.2-<source hash>/informer
#   scripts/tools.sh kube-apiserver  -> .cache/tools/kube-apiserver-v1.37.2/kube-apiserver
#   scripts/tools.sh clientgo        -> .cache/tools/clientgo-v0.37.2-<source hash>/clientgo
#   scripts/tools.sh python-client   -> .cache/tools/python-client-<requirements hash>/venv/bin/python
#
# Each tool has its own Go module under tools/<name>/ (go.mod + go.sum pin every dependency);
# etcd's own go.mod has `replace` lines, so it cannot simply be `go install`ed. The informer is
# our own client-go program (tools/informer/main.go) that the client acceptance tests run;
# clientgo (tools/clientgo) runs client-go scenarios (typed, dynamic, metadata and discovery
# clients, selector informers, relisting after 410, namespace deletion) for tests/clients_go.rs.
# python-client is a virtualenv with the official Kubernetes Python client from PyPI, every
# package pinned in tools/python-client/requirements.txt; it prints the venv's interpreter.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${CAPSTAN_TOOLS_CACHE:-$root/.cache/tools}"

# name -> Go package built from tools/<name> ("." is the tool's own main package there)
package_of() {
  case "$1" in
    etcd) echo "go.etcd.io/etcd/server/v3" ;;
    informer | clientgo) echo "." ;;
    # Built only on demand (the benchmark, aggregation tests): a few minutes on 2 cores.
    kube-apiserver) echo "k8s.io/kubernetes/cmd/kube-apiserver" ;;
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
# name, version -> -ldflags for `go build`: Kubernetes binaries learn their own version (for
# --version and /version) from -X flags its release build sets (hack/lib/version.sh).
ldflags_of() {
  case "$1" in
    kube-apiserver)
      local minor=${2#v1.}
      minor=${minor%%.*}
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
          "$pkg" "$2" "$pkg" "$pkg" "$minor" "$pkg"
      done ;;
  esac
}

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
    (cd "$root/tools/$name" &&
      GOFLAGS=-mod=mod go build -trimpath -ldflags "$(ldflags_of "$name" "$version")" -o "$out.tmp" "$pkg") >&2
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# A virtualenv with tools/<name>/requirements.txt installed, named by the file's hash; a stamp
# file marks a finished install (a venv cannot be moved into place, its scripts name their path).
build_venv() {
  local name=$1 requirements version dir
  requirements="$root/tools/$name/requirements.txt"
  version=$(sha256sum "$requirements" | cut -c1-12)
  dir="$cache/$name-$version"
  if [ ! -f "$dir/installed" ]; then
    echo "installing $name $version (once; cached in $cache)" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    python3 -m venv "$dir/venv" >&2
    "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
      -r "$requirements" >&2
    touch "$dir/installed"
  fi
  echo "$dir/venv/bin/python"
}

[ $# -gt 0 ] || { echo "usage: $0 <tool>..." >&2; exit 2; }
for t in "$@"; do
  case "$t" in
    python-client) build_venv "$t" ;;
    *) build "$t" ;;
  esac
done
