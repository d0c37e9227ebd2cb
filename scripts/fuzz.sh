#!/usr/bin/env bash
# Coverage-guided fuzzing of what fedns reads: FuzzWire (the gate, the query built from it, and the
# ldns codec on upstream replies), FuzzEngine (the whole per-query path, every handler, in-process)
# or FuzzConfig (the config file: the YAML reader and every owner's section). Not part of the test
# command; run it after touching DNSWire, a handler or a config section. Seeds in
# fuzz/corpus/TARGET, when present, are read beside the working corpus.
# Usage: scripts/fuzz.sh [SECONDS] [CORPUS_DIR] [FuzzWire|FuzzEngine|FuzzConfig]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
target="${3:-FuzzWire}"
corpus="${2:-.build-fuzz/corpus-$target}"
mkdir -p "$corpus"
flags=(-c release --product "$target" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --scratch-path .build-fuzz)
# SwiftPM links with gold, which crashes on libFuzzer's duplicate `main`; link the same objects with lld.
if ! swift build "${flags[@]}" >/dev/null 2>&1; then
    link=$(swift build "${flags[@]}" -v 2>&1 | grep -E "^/opt/swift/usr/bin/swiftc .* -o [^ ]*/$target( |\$)" | grep -v -- " -c " | tail -1 || true)
    [ -n "$link" ] || { echo "fuzz.sh: could not build $target" >&2; exit 1; }
    eval "$link -use-ld=lld" >/dev/null
fi
bin=$(swift build "${flags[@]}" --show-bin-path)/$target
extra=()
# Swift keeps pointers in multi-payload enums with tag bits set, which LeakSanitizer cannot follow:
# the engine (snapshots full of such enums) would report false leaks. FuzzWire keeps leak checks.
if [ "$target" = FuzzEngine ]; then extra=(-detect_leaks=0); export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"; fi
seeds=()
if [ -d "fuzz/corpus/$target" ]; then seeds=("fuzz/corpus/$target"); fi
exec "$bin" -max_total_time="$seconds" -print_final_stats=1 "${extra[@]}" "$corpus" "${seeds[@]}"
