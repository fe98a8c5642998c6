#!/usr/bin/env bash
# Builds the operator's OCI image offline (make image): the root filesystem from
# rootfs.sh, then Containerfile (FROM scratch) with buildah, into an OCI archive
# OUT/omjob-operator-VERSION.oci.tar, tagged omjob-operator:VERSION in buildah's
# local storage. Prints BENCH lines: the image's uncompressed size (its one layer)
# and the archive's size.
#   deploy/image/build.sh BINARY OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: build.sh BINARY OUT}
out=${2:?usage: build.sh BINARY OUT}
version=$("$bin" --version 2>/dev/null | awk '{print $2; exit}')
version=${version:-0.1.0}
mkdir -p "$out"
"$here/rootfs.sh" "$bin" "$out/rootfs"
cp "$here/Containerfile" "$out/Containerfile"
command -v buildah >/dev/null || {
	echo "image: buildah not installed (scripts/deps image)" >&2
	exit 1
}
# vfs storage and chroot isolation: works as root without overlay or a runtime;
# nothing is run inside the image (no RUN steps), nothing is pulled (FROM scratch).
b=(buildah --storage-driver vfs)
"${b[@]}" build --isolation chroot --pull=never -f "$out/Containerfile" \
	-t "localhost/omjob-operator:$version" "$out" >&2
rm -f "$out/omjob-operator-$version.oci.tar"
"${b[@]}" push "localhost/omjob-operator:$version" "oci-archive:$out/omjob-operator-$version.oci.tar:omjob-operator:$version" >&2
size=$(du -sb --apparent-size "$out/rootfs" | cut -f1) # = the one layer, uncompressed
echo "image: localhost/omjob-operator:$version, $out/omjob-operator-$version.oci.tar" >&2
echo "BENCH image_uncompressed_bytes $size bytes (target <= 31457280, 30 MiB)"
echo "BENCH image_oci_archive_gzip_bytes $(stat -c %s "$out/omjob-operator-$version.oci.tar") bytes"
