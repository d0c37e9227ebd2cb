#!/usr/bin/env bash
# Coverage-guided fuzzing of what fedns reads from the network (Sources/FuzzWire): the gate and
# the query built from it (client packets) and the ldns codec (upstream replies). Not part of the
# test command; run it after touching DNSWire. Usage: scripts/fuzz.sh [SECONDS] [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
corpus="${2:-.build-fuzz/corpus}"
mkdir -p "$corpus"
flags=(-c release --product FuzzWire -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --scratch-path .build-fuzz)
# SwiftPM links with gold, which crashes on libFuzzer's duplicate `main`; link the same objects with lld.
if ! swift build "${flags[@]}" >/dev/null 2>&1; then
    link=$(swift build "${flags[@]}" -v 2>&1 | grep -E '^/opt/swift/usr/bin/clang .* -o .*/FuzzWire( |$)' | head -1 || true)
    [ -n "$link" ] || { echo "fuzz.sh: could not build FuzzWire" >&2; exit 1; }
    eval "${link/clang /clang -fuse-ld=lld }" >/dev/null
fi
bin=$(swift build "${flags[@]}" --show-bin-path)/FuzzWire
exec "$bin" -max_total_time="$seconds" -print_final_stats=1 "$corpus"
