#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, builds the pinned real
# components (etcd, …) into .cache/tools, then runs every test with etcd support compiled in.
#
#   ./scripts/test.sh            # everything
#   ./scripts/test.sh <args>     # extra arguments go to `cargo test` (e.g. a test name filter)
set -euo pipefail
cd "$(dirname "$0")/.."

# etcd-client's build script needs protoc (Debian's protobuf-compiler).
if ! command -v protoc >/dev/null 2>&1; then
  echo "installing protobuf-compiler (protoc) for etcd-client's build" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y protobuf-compiler >/dev/null 2>&1 \
    || { $sudo_cmd apt-get update >/dev/null && $sudo_cmd apt-get install -y protobuf-compiler >/dev/null; }
fi
command -v kubectl >/dev/null 2>&1 || { echo "kubectl is required on PATH for the integration tests" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 (with venv) is required for the Python client test" >&2; exit 1; }

# Real components the tests start, built once per pinned version (the informer and clientgo:
# our client-go programs for tests/clients_informer.rs and tests/clients_go.rs; python-client: a
# venv with the official Python client for tests/clients_python.rs).
CAPSTAN_ETCD=$(scripts/tools.sh etcd)
CAPSTAN_INFORMER=$(scripts/tools.sh informer)
CAPSTAN_CLIENTGO=$(scripts/tools.sh clientgo)
CAPSTAN_PYTHON_CLIENT=$(scripts/tools.sh python-client)
export CAPSTAN_ETCD CAPSTAN_INFORMER CAPSTAN_CLIENTGO CAPSTAN_PYTHON_CLIENT

cargo fmt --all -- --check
# Lints as errors where clippy is installed (rustup's default profile has it; a minimal toolchain
# may not, and then this step is skipped with a note rather than failing the run).
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --features etcd --all-targets -- -D warnings
else
  echo "cargo clippy is not installed: lint step skipped" >&2
fi
cargo build --features etcd --all-targets
cargo test --features etcd --no-fail-fast "$@"
