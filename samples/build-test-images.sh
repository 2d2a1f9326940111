#!/usr/bin/env bash
# Builds the images the integration tests scan, from real Debian packages:
#   base   – one layer: `debootstrap --variant=minbase bookworm`
#   multi  – base + a layer that installs jq (+ libjq1, libonig5) and less with
#            `dpkg -i` + a layer that `dpkg --purge`s less (real whiteouts, made by umoci)
# and writes, for each, the package managers' own view as the test oracle:
#   <name>.dpkg-query.tsv = dpkg-query --admindir=<rootfs>/var/lib/dpkg -W
# and, for EntryTrace (tags in the same OCI layout):
#   entry-python  – base + python3 (dpkg -i), ENTRYPOINT ["python3"] CMD ["-m","http.server"]
#   entry-tini    – entry-python + tini + /usr/local/bin/docker-entrypoint.sh
#                   (`exec "$@"`), ENTRYPOINT ["tini","--","docker-entrypoint.sh"]
#                   CMD ["python3","-m","http.server"]; its rootfs is kept as
#                   entry-rootfs (the tests run ld.so and dpkg-query on it)
#   entry-scratch – one static busybox (Debian's busybox-static) and nothing else,
#                   ENTRYPOINT ["busybox","httpd","-f","-p","8080"] (PATH: Docker's default)
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

# The EntryTrace images, on top of the layout's `base` (built separately so
# that an images directory from before they existed gets them too).
build_entry_images() {
  local debs="$out/work/entry-debs" bundle="$out/work/entry-bundle" layout="$out/oci"
  local rootfs="$out/work/rootfs-$suite"
  mkdir -p "$debs"
  if ! ls "$debs"/*.deb >/dev/null 2>&1; then
    # python3 and tini plus every dependency minbase lacks, as apt resolves
    # them against the rootfs's own status file; busybox-static for scratch.
    # apt's order puts pre-dependencies first.
    apt-get install -s --no-install-recommends \
      -o Dir::State::status="$rootfs/var/lib/dpkg/status" python3 \
      | awk '/^Inst /{print $2}' >"$debs/python3.order"
    (cd "$debs" && apt-get download $(cat python3.order) tini busybox-static >/dev/null)
  fi
  rm -rf "$bundle" "$out/entry-rootfs"

  # entry-python: python3 installed with dpkg inside the image.
  umoci unpack --image "$layout:base" "$bundle" >/dev/null
  mkdir -p "$bundle/rootfs/tmp/debs"
  local p files=()
  while read -r p; do
    cp "$debs/${p}"_*.deb "$bundle/rootfs/tmp/debs/"
    files+=("$(cd "$bundle/rootfs/tmp/debs" && ls "${p}"_*.deb)")
  done <"$debs/python3.order"
  # One at a time: a pre-dependency must be configured before the next unpacks.
  for p in "${files[@]}"; do chroot "$bundle/rootfs" dpkg -i "/tmp/debs/$p" >/dev/null; done
  rm -rf "$bundle/rootfs/tmp/debs"
  umoci repack --image "$layout:entry-python" --history.created_by "dpkg -i python3 (+deps)" "$bundle"
  umoci config --image "$layout:entry-python" --history.created_by "ENTRYPOINT python3" \
    --config.entrypoint python3 --config.cmd=-m --config.cmd http.server
  rm -rf "$bundle"

  # entry-tini: + tini and a docker-entrypoint.sh in the style of the official images.
  umoci unpack --image "$layout:entry-python" "$bundle" >/dev/null
  cp "$debs"/tini_*.deb "$bundle/rootfs/tmp/"
  chroot "$bundle/rootfs" sh -c 'dpkg -i /tmp/tini_*.deb' >/dev/null
  rm -f "$bundle"/rootfs/tmp/tini_*.deb
  mkdir -p "$bundle/rootfs/usr/local/bin"
  cat >"$bundle/rootfs/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
# Options alone (`docker run IMAGE --bind 0.0.0.0`) run the default program.
if [ "${1#-}" != "$1" ]; then
	set -- python3 -m http.server "$@"
fi
exec "$@"
SH
  chmod 0755 "$bundle/rootfs/usr/local/bin/docker-entrypoint.sh"
  umoci repack --image "$layout:entry-tini" --history.created_by "dpkg -i tini; COPY docker-entrypoint.sh" "$bundle"
  umoci config --image "$layout:entry-tini" --history.created_by "ENTRYPOINT tini" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.entrypoint tini --config.entrypoint=-- --config.entrypoint docker-entrypoint.sh \
    --config.cmd python3 --config.cmd=-m --config.cmd http.server
  mv "$bundle/rootfs" "$out/entry-rootfs"
  rm -rf "$bundle"

  # entry-scratch: a lone static binary.
  umoci new --image "$layout:entry-scratch"
  umoci unpack --image "$layout:entry-scratch" "$bundle" >/dev/null
  mkdir -p "$bundle/bb" "$bundle/rootfs/bin"
  dpkg-deb -x "$debs"/busybox-static_*.deb "$bundle/bb"
  cp "$bundle/bb/bin/busybox" "$bundle/rootfs/bin/busybox"
  umoci repack --image "$layout:entry-scratch" --history.created_by "COPY busybox /bin/" "$bundle"
  umoci config --image "$layout:entry-scratch" --history.created_by "ENTRYPOINT busybox httpd" \
    --config.entrypoint busybox --config.entrypoint httpd --config.entrypoint=-f \
    --config.entrypoint=-p --config.entrypoint 8080
  rm -rf "$bundle"
  umoci gc --layout "$layout"
  touch "$out/.done-entry"
}

if [ -f "$out/.done" ]; then
  [ -f "$out/.done-entry" ] || build_entry_images
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
build_entry_images
echo "test images ready in $out" >&2
