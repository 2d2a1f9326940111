#!/usr/bin/env bash
# Rebuilds samples/quickstart-oci: a small OCI layout holding only the package
# databases of a real Debian 12 image as it was after two steps (debootstrap
# minbase; then dpkg -i jq libjq1 libonig5 less + dpkg --purge less), so
# the quick start scans real data offline in well under a second.
#
# Input: the test images built by samples/build-test-images.sh OUT (needs root).
# Usage: samples/make-quickstart-image.sh OUT
set -euo pipefail
src=${1:?usage: make-quickstart-image.sh TEST_IMAGES_DIR}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/quickstart-oci"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$dest"
umoci init --layout "$dest"
umoci new --image "$dest:debian"
for tag in base multi; do
  umoci unpack --image "$src/oci:$tag" "$work/full-$tag" >/dev/null
done
add_layer() { # rootfs description
  umoci unpack --image "$dest:debian" "$work/b" >/dev/null
  find "$work/b/rootfs" -mindepth 1 -delete
  mkdir -p "$work/b/rootfs/var/lib/dpkg" "$work/b/rootfs/usr/lib" "$work/b/rootfs/etc"
  cp "$1/var/lib/dpkg/status" "$work/b/rootfs/var/lib/dpkg/status"
  cp "$1/usr/lib/os-release" "$work/b/rootfs/usr/lib/os-release"
  ln -s ../usr/lib/os-release "$work/b/rootfs/etc/os-release"
  umoci repack --image "$dest:debian" --history.created_by "$2" "$work/b"
  rm -rf "$work/b"
}
add_layer "$work/full-base/rootfs" "debootstrap --variant=minbase bookworm (dpkg database only)"
add_layer "$work/full-multi/rootfs" "dpkg -i jq libjq1 libonig5 less; dpkg --purge less (dpkg database only)"
umoci gc --layout "$dest"
echo "wrote $dest" >&2
