#!/usr/bin/env python3
"""Extracts kube's list/map/patch extensions for the definitions Capstan serves.

Reads Kubernetes' published OpenAPI spec (api/openapi-spec/swagger.json of the k8s.io/kubernetes
module), keeps the definitions reachable from the kinds Capstan serves, and prints, for each of
them, the properties (and the definition itself) carrying one of:

    x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key, x-kubernetes-list-type,
    x-kubernetes-list-map-keys, x-kubernetes-map-type

The output is the table src/api/schema/extensions.json: one definition per line, keys sorted, the
`x-kubernetes-` prefix dropped. Each definition maps to an object whose "properties" holds the
per-property extensions and whose other keys are the definition's own (map-type, and "required":
kube's list of required properties, written for every object definition, empty when none — the
crates' schemas require fields kube does not, such as LocalObjectReference's name).

The v3 documents (api/openapi-spec/v3/*.json) must agree with swagger.json on every extracted
value; the script fails if they do not, so a drift between the two is noticed when regenerating.

The published files leave out the `enum` lists a running kube-apiserver serves (and kubectl
explain prints); those come from the OpenAPI definitions generated into the module
(pkg/generated/openapi/zz_generated.openapi.go): "enum" on a property, "items-enum" on the
elements of an array property. A property with its own enum also takes its description from
there: the served one ends with the "Possible enum values" the published files lack.

Usage: generate.py <k8s.io/kubernetes module dir>    (see scripts/gen-schema-extensions.sh)
"""

import json
import re
import sys
from pathlib import Path

EXTENSIONS = (
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
)
PREFIX = "x-kubernetes-"

# The kinds Capstan serves (core/v1, coordination.k8s.io/v1 Lease, and policy/v1 Eviction for
# pods/eviction). capstan.dev/v1 Pod reuses PodSpec and PodStatus, so it adds nothing here.
ROOT_KINDS = (
    "io.k8s.api.core.v1.Pod",
    "io.k8s.api.core.v1.PodList",
    "io.k8s.api.core.v1.Namespace",
    "io.k8s.api.core.v1.NamespaceList",
    "io.k8s.api.core.v1.ConfigMap",
    "io.k8s.api.core.v1.ConfigMapList",
    "io.k8s.api.core.v1.Secret",
    "io.k8s.api.core.v1.SecretList",
    "io.k8s.api.core.v1.Event",
    "io.k8s.api.core.v1.EventList",
    "io.k8s.api.core.v1.Binding",
    "io.k8s.api.policy.v1.Eviction",
    "io.k8s.api.coordination.v1.Lease",
    "io.k8s.api.coordination.v1.LeaseList",
)
# Every meta/v1 definition is a root too (Status, DeleteOptions, WatchEvent, ...).
META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."

V3_DOCUMENTS = (
    "api__v1_openapi.json",
    "apis__policy__v1_openapi.json",
    "apis__coordination.k8s.io__v1_openapi.json",
)


def refs(node):
    """Yields every $ref target (definition name) below node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def reachable(definitions):
    roots = [name for name in definitions if name.startswith(META_PREFIX)]
    roots += list(ROOT_KINDS)
    seen = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in definitions:
            sys.exit(f"definition {name} is not in the spec")
        seen.add(name)
        stack.extend(refs(definitions[name]))
    return seen


def pick(schema):
    return {key[len(PREFIX):]: schema[key] for key in EXTENSIONS if key in schema}


def extract(definitions, names):
    table = {}
    for name in sorted(names):
        definition = definitions[name]
        entry = pick(definition)
        properties = {}
        for prop, schema in sorted(definition.get("properties", {}).items()):
            found = pick(schema)
            if found:
                properties[prop] = found
        if properties:
            entry["properties"] = properties
        if "properties" in definition:
            entry["required"] = definition.get("required", [])
        if entry:
            table[name] = entry
    return table


GO_FUNC = re.compile(r'^func schema_(\w+)\(ref common\.ReferenceCallback\)')
GO_PROPERTY = re.compile(r'^(\t+)"([^"]+)": \{$')
GO_ENUM = re.compile(r'^(\t+)Enum:\s+\[\]interface\{\}\{(.*)\},$')
GO_DESCRIPTION = re.compile(r'^(\t+)Description:\s+(".*"),$')
# An Enum two tabs inside its property's entry is the property's own; five is its array items'.
PROPERTY_DEPTH, ITEMS_DEPTH = 2, 5


def go_enums(module_dir):
    """(definition, property) -> {key: values, "description": text} from the generated Go
    OpenAPI definitions."""
    source = Path(module_dir) / "pkg" / "generated" / "openapi" / "zz_generated.openapi.go"
    enums = {}
    definition, properties, descriptions = None, [], {}
    for line in source.read_text().splitlines():
        m = GO_FUNC.match(line)
        if m:
            # schema_k8sio_api_core_v1_PodSpec -> io.k8s.api.core.v1.PodSpec
            definition = "io.k8s." + m.group(1).removeprefix("k8sio_").replace("_", ".")
            properties, descriptions = [], {}
            continue
        m = GO_PROPERTY.match(line)
        if m:
            properties.append((len(m.group(1)), m.group(2)))
            continue
        m = GO_DESCRIPTION.match(line)
        if m and properties:
            # A Go string literal with JSON-compatible escapes.
            descriptions[(properties[-1], len(m.group(1)))] = json.loads(m.group(2))
            continue
        m = GO_ENUM.match(line)
        if m and definition:
            depth = len(m.group(1))
            enclosing = [p for p in properties if p[0] < depth]
            if not enclosing:
                continue
            indent, prop = enclosing[-1]
            key = {PROPERTY_DEPTH: "enum", ITEMS_DEPTH: "items-enum"}.get(depth - indent)
            if key is None:
                sys.exit(f"{definition}.{prop}: enum at an unexpected depth {depth - indent}")
            found = {key: json.loads("[" + m.group(2) + "]")}
            description = descriptions.get(((indent, prop), depth))
            if key == "enum" and description is not None:
                found["description"] = description
            enums[(definition, prop)] = found
    return enums


def add_enums(table, definitions, names, enums):
    for (definition, prop), found in sorted(enums.items()):
        if definition not in names or prop not in definitions[definition].get("properties", {}):
            continue
        entry = table.setdefault(definition, {})
        entry.setdefault("properties", {}).setdefault(prop, {}).update(found)


def check_v3(spec_dir, table):
    """Fails if a v3 document disagrees with swagger.json on an extracted definition."""
    for document in V3_DOCUMENTS:
        schemas = json.loads((spec_dir / "v3" / document).read_text())["components"]["schemas"]
        v3 = extract(schemas, [name for name in table if name in schemas])
        for name, entry in v3.items():
            if entry != table[name]:
                sys.exit(f"{document}: {name} differs from swagger.json:\n{entry}\n{table[name]}")


def render(table):
    lines = [
        f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True, separators=(',', ':'))}"
        for name, entry in sorted(table.items())
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    spec_dir = Path(sys.argv[1]) / "api" / "openapi-spec"
    definitions = json.loads((spec_dir / "swagger.json").read_text())["definitions"]
    names = reachable(definitions)
    table = extract(definitions, names)
    check_v3(spec_dir, table)
    add_enums(table, definitions, names, go_enums(sys.argv[1]))
    sys.stdout.write(render(table))


if __name__ == "__main__":
    main()
