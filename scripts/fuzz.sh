#!/usr/bin/env bash
# Coverage-guided fuzzing of what fedns reads, with libFuzzer and AddressSanitizer (a release build
# in .build-fuzz): FuzzWire (the gate, the query built from it, and the ldns codec on upstream
# replies), FuzzEngine (the whole per-query path, every handler, in-process), FuzzConfig (the
# config file: the YAML reader and every owner's section) or FuzzKube (Kubernetes list bodies and
# watch streams, split at a point, through the streaming decoders). Seeds are in fuzz/corpus/TARGET.
#
#   scripts/fuzz.sh [SECONDS] [CORPUS_DIR] [TARGET]   fuzz one target (default 300 s, FuzzWire)
#   scripts/fuzz.sh --smoke [RUNS]                    every target, RUNS inputs each (default 10000)
#                                                     from its seeds; part of scripts/test.sh
# A new target is one more name in `targets` below, with its seeds in fuzz/corpus/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(FuzzWire FuzzEngine FuzzConfig FuzzKube)

flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --scratch-path .build-fuzz)

# Builds $1 and prints its path. One verbose build: a second, quiet one would not reuse its objects.
build() {
    local target=$1 log=.build-fuzz/build-$1.log
    mkdir -p .build-fuzz
    # SwiftPM links with gold, which crashes on libFuzzer's duplicate `main`; link the same objects with lld.
    if ! swift build "${flags[@]}" --product "$target" -v > "$log" 2>&1; then
        local link
        link=$(grep -E "^/opt/swift/usr/bin/swiftc .* -o [^ ]*/$target( |\$)" "$log" | grep -v -- " -c " | tail -1 || true)
        [ -n "$link" ] || { echo "fuzz.sh: could not build $target (see $log)" >&2; return 1; }
        eval "$link -use-ld=lld" >> "$log" 2>&1
    fi
    echo "$(swift build "${flags[@]}" --show-bin-path)/$target"
}

# Swift keeps pointers in multi-payload enums with tag bits set, which LeakSanitizer cannot follow:
# the engine (snapshots full of such enums) would report false leaks. The others keep leak checks.
no_leak_checks() { [ "$1" = FuzzEngine ]; }

if [ "${1:-}" = --smoke ]; then
    runs="${2:-10000}"
    status=0
    for target in "${targets[@]}"; do
        bin=$(build "$target") || { status=1; continue; }
        # New inputs go to a scratch directory; the committed seeds are only read.
        scratch=.build-fuzz/smoke-corpus-$target
        rm -rf "$scratch" && mkdir -p "$scratch"
        extra=() asan="${ASAN_OPTIONS:-}"
        if no_leak_checks "$target"; then extra=(-detect_leaks=0) asan="${asan:-detect_leaks=0}"; fi
        if ASAN_OPTIONS="$asan" "$bin" -runs="$runs" "${extra[@]}" "$scratch" "fuzz/corpus/$target" \
            > ".build-fuzz/smoke-$target.log" 2>&1; then
            echo "fuzz smoke: $target: $runs runs from $(ls "fuzz/corpus/$target" | wc -l) seeds, no crash"
        else
            echo "fuzz smoke: $target FAILED (.build-fuzz/smoke-$target.log):" >&2
            tail -30 ".build-fuzz/smoke-$target.log" >&2
            status=1
        fi
    done
    exit $status
fi

seconds="${1:-300}"
target="${3:-FuzzWire}"
corpus="${2:-.build-fuzz/corpus-$target}"
mkdir -p "$corpus"
bin=$(build "$target")
extra=()
if no_leak_checks "$target"; then extra=(-detect_leaks=0); export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"; fi
seeds=()
if [ -d "fuzz/corpus/$target" ]; then seeds=("fuzz/corpus/$target"); fi
exec "$bin" -max_total_time="$seconds" -print_final_stats=1 "${extra[@]}" "$corpus" "${seeds[@]}"
