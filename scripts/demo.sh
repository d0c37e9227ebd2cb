#!/usr/bin/env bash
# The README demo: build a release fedns and run its embedded demo cluster on loopback.
# Extra arguments go to `fedns serve --demo`, e.g. `scripts/demo.sh --listen 127.0.0.1:5353`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
exec .build/release/fedns serve --demo "$@"
