#!/usr/bin/env bash
# Builds the benchmark images from real Debian, npm and PyPI packages, with no
# Docker daemon (debootstrap + chroot + umoci + skopeo), into OUT:
#
#   bookworm-minbase  1 layer : `debootstrap --variant=minbase bookworm`, apt lists and
#                     cached .debs removed (as in the official debian:bookworm image)
#   multi             8 layers, an app image on top of the same base layer:
#     L0  the bookworm-minbase layer
#     L1  apt-get install ca-certificates curl python3 python3-pip python3-venv
#     L2  apt-get install nodejs npm            (Debian's npm: hundreds of node-* debs)
#     L3  apt-get install default-jre-headless libcommons-lang3-java
#             libjackson2-databind-java libguava-java       (JRE + jars in /usr/share/java)
#     L4  apt-get purge --autoremove curl        (real whiteouts, dpkg status rewritten)
#     L5  npm install express lodash axios moment chalk commander uuid debug
#             into /app (node_modules with nested package.json files)
#     L6  pip install requests flask pyyaml click jinja2 into
#             /usr/local/lib/python3.11/dist-packages (dist-info directories)
#     L7  COPY jars into /app/lib (copies of Debian's commons-lang3 and guava jars)
#   apt layers run apt-get inside a chroot of the unpacked rootfs (/proc mounted,
#   /etc/resolv.conf bound, services blocked by policy-rc.d) and clean the apt
#   caches and lists afterwards, as a Dockerfile would. npm and pip run on the
#   host (same ABI: CPython 3.11, x86_64) with --prefix / --target into the layer.
#   node10k           2 layers, a large real node_modules estate on the same base layer:
#     L0  the bookworm-minbase layer
#     L1  twelve npm projects side by side, /apps/<project>/ (package.json,
#             package-lock.json, node_modules), each `npm ci --ignore-scripts` from
#             the lock committed in bench/node10k/<project>/: together > 10,000
#             installed packages (`npm ls --all --parseable`). The installed trees
#             are cached in OUT/work/node10k (keyed by a hash of bench/node10k) and
#             npm's download cache in OUT/work/npm-cache, so rebuilds are offline.
#
# For each image NAME:
#   OUT/NAME/oci             OCI layout with one tag, NAME  (scan: oci-dir:OUT/NAME/oci:NAME)
#   OUT/NAME.oci.tar         oci-archive     (skopeo)
#   OUT/NAME.docker.tar      docker-archive  (skopeo; tag stella-bench/NAME:latest)
#   OUT/NAME.dpkg-query.tsv  the package manager's own view, the deb oracle:
#                            dpkg-query --admindir=<final rootfs>/var/lib/dpkg -W
#   OUT/NAME.npm.tsv / NAME.python.tsv / NAME.jars.txt (multi only): what the
#                            language layers hold, for comparing peers' counts
#   OUT/node10k.npm-ls.tsv   node10k's npm oracle: `npm ls --all --parseable --long` in
#                            each /apps/<project> of the final rootfs, one installed
#                            package a line: path, name, version (an alias resolved to
#                            the real package, as its package.json says), project.
#                            The projects themselves are not listed.
#
# Usage: bench/build-images.sh OUT   (idempotent: each step is cached by its tag, each
#                                     export by OUT/NAME.done)
set -euo pipefail

out=${1:?usage: build-images.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
suite=bookworm
mirror=${STELLA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

need() { command -v "$1" >/dev/null || { echo "missing $1 (apt-get install $2)" >&2; exit 1; }; }
need debootstrap debootstrap
need umoci umoci
need skopeo skopeo
need dpkg-query dpkg
need npm npm
need pip pip

bench=$(cd "$(dirname "$0")" && pwd)
all_images="bookworm-minbase multi node10k"
# Before node10k one marker stood for both earlier images.
if [ -f "$out/.done" ]; then
  touch "$out/bookworm-minbase.done" "$out/multi.done"
  rm -f "$out/.done"
fi
# The node10k export is stale when the committed projects changed.
node10k_key=$(cd "$bench/node10k" && find . -type f -name 'package*.json' | LC_ALL=C sort \
  | xargs sha256sum | sha256sum | cut -c1-12)
if [ -f "$out/node10k.done" ] && [ "$(cat "$out/node10k.done")" != "$node10k_key" ]; then
  rm -f "$out/node10k.done"
fi
missing=
for img in $all_images; do [ -f "$out/$img.done" ] || missing="$missing $img"; done
if [ -z "$missing" ]; then
  echo "bench images already built in $out" >&2
  exit 0
fi

work="$out/work"
layout="$work/layout"     # build layout: every intermediate step is a tag here
bundle="$work/bundle"
mkdir -p "$work"
log() { echo "[build-images] $*" >&2; }

cleanup_mounts() {
  local r="$bundle/rootfs"
  for m in "$r/proc" "$r/etc/resolv.conf"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
}
trap cleanup_mounts EXIT

# Not `grep -q`: it exits at the first match, umoci then dies of SIGPIPE on its
# next line, and pipefail turns a tag that exists into "missing" (a rebuild).
has_tag() { [ -d "$layout" ] && umoci ls --layout "$layout" 2>/dev/null | grep -x "$1" >/dev/null; }

# step FROM TO CREATED_BY FUNCTION: unpack FROM, run FUNCTION on the rootfs, repack as TO.
step() {
  local from=$1 to=$2 desc=$3 fn=$4
  if has_tag "$to"; then log "cached: $to ($desc)"; return; fi
  log "building $to: $desc"
  rm -rf "$bundle"
  umoci unpack --image "$layout:$from" "$bundle" >/dev/null
  "$fn" "$bundle/rootfs"
  cleanup_mounts
  umoci repack --image "$layout:$to" --history.created_by "$desc" "$bundle"
  rm -rf "$bundle"
}

# chroot_apt ROOTFS CMD...: run an apt command in the chroot with /proc and DNS.
chroot_apt() {
  local r=$1; shift
  mount -t proc proc "$r/proc"
  [ -e "$r/etc/resolv.conf" ] || touch "$r/etc/resolv.conf"
  mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod +x "$r/usr/sbin/policy-rc.d"
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C \
    sh -c "$*" >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; cleanup_mounts; exit 1; }
  rm -f "$r/usr/sbin/policy-rc.d"
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb
  cleanup_mounts
}

# ---------------------------------------------------------------- base layer
rootfs="$work/rootfs-$suite"
if [ ! -f "$rootfs/.debootstrap-ok" ]; then
  rm -rf "$rootfs"
  log "debootstrap --variant=minbase $suite (a minute or two)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  touch "$rootfs/.debootstrap-ok"
fi
if [ ! -f "$layout/index.json" ]; then
  umoci init --layout "$layout"
fi
if ! has_tag bookworm-minbase; then
  log "building bookworm-minbase"
  has_tag empty || umoci new --image "$layout:empty"
  rm -rf "$bundle"
  umoci unpack --image "$layout:empty" "$bundle" >/dev/null
  cp -a "$rootfs/." "$bundle/rootfs/"
  rm -f "$bundle/rootfs/.debootstrap-ok"
  # As official debian images do: no apt lists, no cached .debs in the base layer.
  rm -rf "$bundle/rootfs/var/lib/apt/lists/"* "$bundle/rootfs/var/cache/apt/"*.bin "$bundle/rootfs/var/cache/apt/archives/"*.deb
  umoci repack --image "$layout:bookworm-minbase" --history.created_by "debootstrap --variant=minbase $suite && rm -rf /var/lib/apt/lists/* /var/cache/apt/*" "$bundle"
  rm -rf "$bundle"
fi

# ---------------------------------------------------------------- multi
l1() { chroot_apt "$1" 'apt-get update && apt-get install -y --no-install-recommends ca-certificates curl python3 python3-pip python3-venv'; }
l2() { chroot_apt "$1" 'apt-get update && apt-get install -y --no-install-recommends nodejs npm'; }
l3() { chroot_apt "$1" 'apt-get update && apt-get install -y --no-install-recommends default-jre-headless libcommons-lang3-java libjackson2-databind-java libguava-java'; }
l4() { chroot_apt "$1" 'apt-get purge -y --autoremove curl'; }
l5() {
  mkdir -p "$1/app"
  printf '{"name":"bench-app","version":"1.0.0","private":true}\n' >"$1/app/package.json"
  npm install --prefix "$1/app" --no-audit --no-fund --loglevel=error \
    express@4 lodash@4 axios@1 moment@2 chalk@4 commander@11 uuid@9 debug@4 >>"$work/npm.log" 2>&1 \
    || { tail -30 "$work/npm.log" >&2; exit 1; }
}
l6() {
  local site="$1/usr/local/lib/python3.11/dist-packages"
  mkdir -p "$site"
  pip install --quiet --no-warn-script-location --no-cache-dir --target "$site" \
    requests flask pyyaml click jinja2 >>"$work/pip.log" 2>&1 \
    || { tail -30 "$work/pip.log" >&2; exit 1; }
}
l7() {
  mkdir -p "$1/app/lib"
  cp "$(readlink -f "$1/usr/share/java/commons-lang3.jar")" "$1/app/lib/commons-lang3.jar"
  cp "$(readlink -f "$1/usr/share/java/guava.jar")" "$1/app/lib/guava.jar"
}
step bookworm-minbase multi-1 "apt-get install ca-certificates curl python3 python3-pip python3-venv" l1
step multi-1 multi-2 "apt-get install nodejs npm" l2
step multi-2 multi-3 "apt-get install default-jre-headless libcommons-lang3-java libjackson2-databind-java libguava-java" l3
step multi-3 multi-4 "apt-get purge --autoremove curl" l4
step multi-4 multi-5 "npm install express lodash axios moment chalk commander uuid debug (/app/node_modules)" l5
step multi-5 multi-6 "pip install requests flask pyyaml click jinja2 (/usr/local/lib/python3.11/dist-packages)" l6
step multi-6 multi "COPY commons-lang3.jar guava.jar /app/lib/" l7

# ---------------------------------------------------------------- node10k
# npm ci each committed project once into OUT/work/node10k (reused while the
# committed files are unchanged), then copy the trees into the layer.
node10k_install() {
  local cache="$work/node10k" p name
  if [ "$(cat "$cache/.key" 2>/dev/null)" = "$node10k_key" ]; then
    log "cached: npm ci of bench/node10k/* ($cache)"
    return
  fi
  rm -rf "$cache"
  mkdir -p "$cache"
  for p in "$bench/node10k"/*/; do
    name=$(basename "$p")
    log "npm ci --ignore-scripts: bench/node10k/$name"
    mkdir -p "$cache/$name"
    cp "$p/package.json" "$p/package-lock.json" "$cache/$name/"
    (cd "$cache/$name" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >>"$work/npm.log" 2>&1 \
      || { tail -30 "$work/npm.log" >&2; exit 1; }
  done
  echo "$node10k_key" >"$cache/.key"
}
l_node10k() {
  mkdir -p "$1/apps"
  local p
  for p in "$work/node10k"/*/; do cp -a "$p" "$1/apps/"; done
}
node10k_install
step bookworm-minbase "node10k-$node10k_key" \
  "COPY apps/*/package*.json; RUN npm ci --ignore-scripts (12 projects, >10k packages in /apps/*/node_modules)" l_node10k

# ---------------------------------------------------------------- exports + oracles
export_image() { # NAME [BUILD_TAG]: export build tag BUILD_TAG (default NAME) as NAME
  local name=$1 src=${2:-$1}
  [ -f "$out/$name.done" ] && return
  log "exporting $name"
  rm -rf "$out/$name" "$out/$name.oci.tar" "$out/$name.docker.tar"
  mkdir -p "$out/$name"
  skopeo copy --quiet "oci:$layout:$src" "oci:$out/$name/oci:$name"
  skopeo copy --quiet "oci:$layout:$src" "oci-archive:$out/$name.oci.tar:$name"
  skopeo copy --quiet "oci:$layout:$src" "docker-archive:$out/$name.docker.tar:stella-bench/$name:latest"
  rm -rf "$bundle"
  umoci unpack --image "$layout:$src" "$bundle" >/dev/null
  local r="$bundle/rootfs"
  dpkg-query --admindir="$r/var/lib/dpkg" -W \
    -f '${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\t${source:Package}\t${source:Version}\n' \
    | sort >"$out/$name.dpkg-query.tsv"
  if [ -d "$r/app/node_modules" ]; then
    find "$r/app/node_modules" -name package.json | sed "s|^$r||" \
      | grep -E 'node_modules/(@[^/]+/)?[^/@][^/]*/package\.json$' | sort >"$out/$name.npm.tsv"
    find "$r/usr/local/lib/python3.11/dist-packages" "$r/usr/lib/python3/dist-packages" -maxdepth 1 \
      \( -name '*.dist-info' -o -name '*.egg-info' \) 2>/dev/null | sed "s|^$r||" | sort >"$out/$name.python.tsv"
    find "$r" -name '*.jar' -type f | sed "s|^$r||" | sort >"$out/$name.jars.txt"
  fi
  if [ -d "$r/apps" ]; then
    npm_ls_oracle "$r" >"$out/$name.npm-ls.tsv"
  fi
  du -sb "$r" | cut -f1 >"$out/$name.rootfs-bytes"
  rm -rf "$bundle"
  echo "${3:-}" >"$out/$name.done"
}
# npm_ls_oracle ROOTFS: `npm ls --all --parseable --long` of every /apps/<project>,
# as "path<TAB>name<TAB>version<TAB>project" (paths as seen inside the image).
npm_ls_oracle() {
  local r=$1 p
  for p in "$r/apps"/*/; do
    # Exit status 1 only flags problems such as an INVALID (out-of-range) dependency.
    (cd "$p" && npm ls --all --parseable --long 2>/dev/null || true) \
      | python3 -c '
import sys
root, proj = sys.argv[1], sys.argv[2]
n = 0
for line in sys.stdin:
    path, _, spec = line.rstrip("\n").partition(":")
    if "@npm:" in spec:  # alias@npm:real@version: the real package is installed
        spec = spec.split("@npm:", 1)[1]
    spec = spec.split(":")[0]  # drop flags such as :INVALID, :extraneous
    if "/node_modules/" not in path:
        continue  # the project itself
    name, _, version = spec.rpartition("@")
    print(f"{path[len(root):]}\t{name}\t{version}\t{proj}")
    n += 1
if n == 0:
    sys.exit(f"npm ls listed nothing in {proj}")
' "$r" "$(basename "$p")"
  done
}
umoci gc --layout "$layout"
export_image bookworm-minbase
export_image multi
export_image node10k "node10k-$node10k_key" "$node10k_key"
log "bench images ready in $out"
