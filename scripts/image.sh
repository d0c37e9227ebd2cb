#!/usr/bin/env bash
# Builds fedns's image and prints its size: a release build with the Swift runtime linked in
# statically (`--static-swift-stdlib`, as the Containerfile's builder stage does), laid out by
# deploy/image/rootfs.sh and built as the Containerfile's runtime stage with podman (vfs storage).
# The builder stage itself needs the Swift image from a registry; this builds the same binary with
# the toolchain on this machine instead. Takes a release build's time (~10 min on 2 cores).
#   bash scripts/image.sh                      # tags localhost/fedns:dev
#   bash scripts/image.sh --binary PATH        # an existing build instead (its Swift libraries are copied in)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${TAG:-localhost/fedns:dev}
podman=(podman --storage-driver vfs)

if [ "${1:-}" = "--binary" ] && [ -n "${2:-}" ]; then
    bin=$2
else
    swift build -c release --static-swift-stdlib --product fedns --scratch-path .build-image
    bin="$(swift build -c release --static-swift-stdlib --scratch-path .build-image --show-bin-path)/fedns"
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
sh deploy/image/rootfs.sh "$bin" "$context/rootfs"
"${podman[@]}" build -q --build-arg ROOTFS=rootfs-from-host -f Containerfile -t "$tag" "$context" >/dev/null

size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
compressed=$("${podman[@]}" save "$tag" 2>/dev/null | gzip -9 -c | wc -c)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "image $tag: $(mib "$size") unpacked, $(mib "$compressed") compressed (gzip -9 of podman save)"
echo "largest files:"
(cd "$context/rootfs" && find . -type f -size +500k -printf '%s %p\n' | sort -rn | head -8 |
    awk '{ printf "  %7.1f MiB  %s\n", $1 / 1048576, substr($2, 2) }')
echo "shared libraries the binary loads:"
ldd "$bin" | awk '{ print "  " $1 }'
