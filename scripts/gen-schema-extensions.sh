#!/usr/bin/env bash
# Regenerates src/api/schema/extensions.json (kube's list/map/patch extensions for the definitions
# Capstan serves) from the OpenAPI spec Kubernetes publishes in its k8s.io/kubernetes module.
#
#   scripts/gen-schema-extensions.sh            # uses the pinned version below
#   K8S_VERSION=v1.37.3 scripts/gen-schema-extensions.sh
#
# Needs go (to locate or download the module) and python3. Update the version in
# src/api/schema/extensions.NOTICE when changing it.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${K8S_VERSION:-v1.37.2}"
dir=$(go mod download -json "k8s.io/kubernetes@$version" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
python3 tools/schema-extensions/generate.py "$dir" > src/api/schema/extensions.json.tmp
mv src/api/schema/extensions.json.tmp src/api/schema/extensions.json
echo "wrote src/api/schema/extensions.json from k8s.io/kubernetes@$version" >&2
