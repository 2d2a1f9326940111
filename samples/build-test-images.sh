#!/usr/bin/env bash
# Builds the images the integration tests scan, from real Debian packages:
#   base   – one layer: `debootstrap --variant=minbase bookworm`
#   multi  – base + a layer that installs jq (+ libjq1, libonig5) and less with
#            `dpkg -i` + a layer that `dpkg --purge`s less (real whiteouts, made by umoci)
# and writes, for each, the package managers' own view as the test oracle:
#   <name>.dpkg-query.tsv = dpkg-query --admindir=<rootfs>/var/lib/dpkg -W
# Transports: OCI layout (umoci), oci-archive and docker-archive (skopeo), the
# unpacked rootfs (dir:). Needs root (debootstrap, chroot) and Debian's mirror.
#
# Usage: samples/build-test-images.sh OUT_DIR   (idempotent: skips what exists)
set -euo pipefail

out=${1:?usage: build-test-images.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
suite=bookworm
mirror=${STELLA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

need() { command -v "$1" >/dev/null || { echo "missing $1 (apt-get install $2)" >&2; exit 1; }; }
need debootstrap debootstrap
need umoci umoci
need skopeo skopeo
need dpkg-query dpkg

if [ -f "$out/.done" ]; then
  echo "test images already built in $out"
  exit 0
fi

mkdir -p "$out/work"
rootfs="$out/work/rootfs-$suite"
if [ ! -f "$rootfs/.debootstrap-ok" ]; then
  rm -rf "$rootfs"
  echo "debootstrap --variant=minbase $suite (about a minute)…" >&2
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$out/work/debootstrap.log" 2>&1 \
    || { tail -20 "$out/work/debootstrap.log" >&2; exit 1; }
  touch "$rootfs/.debootstrap-ok"
fi

layout="$out/oci"
rm -rf "$layout" "$out/work/bundle"
umoci init --layout "$layout"
umoci new --image "$layout:base"

oracle() { # rootfs name
  dpkg-query --admindir="$1/var/lib/dpkg" -W \
    -f '${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\t${source:Package}\t${source:Version}\n' \
    | LC_ALL=C sort >"$out/$2.dpkg-query.tsv"
}

# Layer 0: the debootstrap root filesystem.
bundle="$out/work/bundle"
umoci unpack --image "$layout:base" "$bundle" >/dev/null
cp -a "$rootfs/." "$bundle/rootfs/"
rm -f "$bundle/rootfs/.debootstrap-ok"
umoci repack --image "$layout:base" --history.created_by "debootstrap --variant=minbase $suite" "$bundle"
oracle "$bundle/rootfs" base
rm -rf "$bundle"

# Layer 1: install real .debs with dpkg inside the image.
debs="$out/work/debs"
mkdir -p "$debs"
if ! ls "$debs"/*.deb >/dev/null 2>&1; then
  (cd "$debs" && apt-get download jq libjq1 libonig5 less >/dev/null)
fi
umoci unpack --image "$layout:base" "$bundle" >/dev/null
mkdir -p "$bundle/rootfs/tmp/debs"
cp "$debs"/*.deb "$bundle/rootfs/tmp/debs/"
chroot "$bundle/rootfs" sh -c 'dpkg -i /tmp/debs/*.deb' >/dev/null
rm -rf "$bundle/rootfs/tmp/debs"
umoci repack --image "$layout:multi" --history.created_by "dpkg -i jq libjq1 libonig5 less" "$bundle"
oracle "$bundle/rootfs" multi-1
rm -rf "$bundle"

# Layer 2: purge less (its files become whiteouts).
umoci unpack --image "$layout:multi" "$bundle" >/dev/null
chroot "$bundle/rootfs" dpkg --purge less >/dev/null
umoci repack --image "$layout:multi" --history.created_by "dpkg --purge less" "$bundle"
oracle "$bundle/rootfs" multi
mv "$bundle/rootfs" "$out/multi-rootfs"
rm -rf "$bundle"
umoci gc --layout "$layout"

for tag in base multi; do
  skopeo copy --quiet "oci:$layout:$tag" "oci-archive:$out/$tag.oci.tar"
  skopeo copy --quiet "oci:$layout:$tag" "docker-archive:$out/$tag.docker.tar:stella-test/$tag:latest"
done
rm -rf "$out/work/bundle"
touch "$out/.done"
echo "test images ready in $out" >&2
