#!/usr/bin/env bash
# The project's test command: dependencies, build, unit tests, the end-to-end suite against the
# built binary (.build/debug/fedns, or FEDNS_BIN), then a fuzz smoke (a second, sanitizer build in
# .build-fuzz; FUZZ_RUNS inputs per target, 0 skips it). Exits non-zero when any step fails.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "test.sh: install-deps failed" >&2; exit 1; }

echo "== swift build"
swift build || { echo "test.sh: swift build failed" >&2; exit 1; }

status=0
echo "== swift test"
swift test || status=1

echo "== docs: references inside the repository, scenario links, markdownlint (scripts/check-docs.py)"
python3 scripts/check-docs.py || status=1

echo "== end-to-end tests (tests/e2e)"
export FEDNS_BIN="${FEDNS_BIN:-$PWD/.build/debug/fedns}"
python3 -m pytest -q -p no:cacheprovider tests/e2e
rc=$?
# pytest's 5 means it collected no test: that is a broken suite, not a pass.
[ $rc -ne 0 ] && status=1

runs="${FUZZ_RUNS:-10000}"
if [ "$runs" != 0 ]; then
    echo "== fuzz smoke (scripts/fuzz.sh --smoke $runs)"
    bash scripts/fuzz.sh --smoke "$runs" || status=1
fi

exit $status
