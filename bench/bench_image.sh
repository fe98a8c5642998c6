#!/usr/bin/env bash
# The image's size (issue 11; target <= 30 MiB uncompressed): the root filesystem
# deploy/image/rootfs.sh assembles for the release binary (OMJOB_BIN), which is the
# image's one layer, uncompressed and gzip'd as an OCI archive stores it; and the
# share of the shared libraries. No control plane, no buildah needed (make image
# prints the same figure from the image it builds).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
bin=${OMJOB_BIN:-$REPO/build-bench/omjob-operator}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$REPO/deploy/image/rootfs.sh" "$bin" "$tmp/rootfs"
total=$(du -sb --apparent-size "$tmp/rootfs" | cut -f1)
libs=$(du -cb --apparent-size "$tmp/rootfs/usr/lib/x86_64-linux-gnu" "$tmp/rootfs/usr/lib64" | tail -1 | cut -f1)
zone=$(du -sb --apparent-size "$tmp/rootfs/usr/share/zoneinfo" | cut -f1)
binsz=$(stat -c %s "$tmp/rootfs/usr/bin/omjob-operator")
gz=$(tar -C "$tmp/rootfs" -cf - . | gzip -6 | wc -c)
echo "BENCH image_uncompressed_bytes $total bytes (target <= 31457280: $((total * 100 / 31457280))% of it)"
echo "BENCH image_layer_gzip_bytes $gz bytes"
echo "BENCH image_shared_libraries_bytes $libs bytes ($(find "$tmp/rootfs/usr/lib" "$tmp/rootfs/usr/lib64" -name '*.so*' | wc -l) files)"
echo "BENCH image_zoneinfo_bytes $zone bytes"
echo "BENCH image_binary_bytes $binsz bytes"
