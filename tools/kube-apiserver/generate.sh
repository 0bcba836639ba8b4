#!/usr/bin/env bash
# Regenerates go.mod/go.sum for building kube-apiserver at a pinned Kubernetes version.
#
#   tools/kube-apiserver/generate.sh v1.37.2
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, …) at v0.0.0 and
# points them at ./staging with `replace` lines, which only apply inside its own repository. A module
# that depends on it must say itself where each one comes from: the published tag v0.<minor>.<patch>
# that matches v1.<minor>.<patch>. This script derives that list from k8s.io/kubernetes' own go.mod
# (only the modules it requires; sample-* modules it merely replaces are not published) and lets
# `go mod tidy` pin everything else.
set -euo pipefail
cd "$(dirname "$0")"

version=${1:?usage: $0 v1.X.Y}
staging_version="v0.${version#v1.}"

gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
[ -f "$gomod" ] || { echo "could not download k8s.io/kubernetes@$version" >&2; exit 1; }
go_line=$(awk '$1 == "go" { print; exit }' "$gomod")

# modules required at v0.0.0 and replaced by ./staging/src/<module>
staging=$(awk '
  $1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\/staging\// { replaced[$1] = 1 }
  $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { required[$1] = 1 }
  END { for (m in required) if (m in replaced) print m }' "$gomod" | sort)

{
  echo "module capstan.dev/tools/kube-apiserver"
  echo
  echo "$go_line"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "// k8s.io/kubernetes requires its staging modules at v0.0.0; each is published as $staging_version."
  echo "replace ("
  for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
  echo ")"
} > go.mod
rm -f go.sum
go mod tidy
