#!/usr/bin/env bash
# The federation announcement's walk-through on one machine (docs/publishing.md): Knot DNS as the public
# DNS provider, four member clusters (one served by the test Kubernetes API server), `fedns publish`, and
# one fedns per cluster in a network namespace of its own with a pod's resolv.conf. Needs root.
# Uses FEDNS_BIN when set, else builds the debug binary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "walkthrough.sh: needs root (network namespaces, port 53 inside them)" >&2
    exit 1
fi
bash scripts/install-deps.sh
if [ -z "${FEDNS_BIN:-}" ]; then
    swift build
    export FEDNS_BIN="$PWD/.build/debug/fedns"
fi
exec python3 tests/e2e/walkthrough.py
