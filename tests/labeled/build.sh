#!/usr/bin/env bash
# Builds the labeled set's root filesystems from real packages:
#
#   OUT/rootfs/debian     Debian 12: libexpat1, libass9, imagemagick-6-common (old bookworm versions)
#   OUT/rootfs/pypi       Debian 12 + pip-installed requests, urllib3, Jinja2, MarkupSafe, PyYAML
#                         in /usr/local, + the dpkg-owned python3-urllib3 (the OS-owned trap)
#   OUT/rootfs/go         Debian 12 + the Go binary of golang-petname copied in (not dpkg-registered)
#   OUT/rootfs/rust       Debian 12 + the committed cargo-auditable binary
#   OUT/rootfs/almalinux  AlmaLinux 9 os-release + an rpm database of stand-in packages
#   OUT/ground-truth/*.tsv  what the package managers themselves list (dpkg-query, rpm -qa, pip)
#
# Usage: tests/labeled/build.sh OUT [CACHE]   (CACHE default: OUT/../labeled-cache)
# Downloads (deb.debian.org, PyPI) happen once into CACHE and are checked
# against the sha256 pins in packages.lock; the rootfs are rebuilt from
# scratch each run. Writes nothing outside OUT and CACHE.
# Needs: python3 with pip, dpkg-deb, dpkg-query, rpmbuild and rpm (apt: rpm), objcopy
# (binutils); go (golang-go) for the Go ground truth when present.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUT [CACHE]" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${2:-$out/../labeled-cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
lock=$here/packages.lock
py() { python3 "$here/rootfs.py" "$@"; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

for tool in python3 dpkg-deb dpkg-query rpmbuild rpm objcopy; do
  command -v "$tool" >/dev/null || { echo "labeled set: $tool not found (see tests/run.sh)" >&2; exit 1; }
done

py fetch "$lock" "$cache"
deb() { py deb-path "$lock" "$cache" "$1"; }

rm -rf "$out/rootfs" "$out/ground-truth"
mkdir -p "$out/rootfs" "$out/ground-truth"

# A Debian 12 base: the real base-files package (os-release, dpkg-registered).
debian_base() {
  mkdir -p "$1"
  py install-deb "$1" "$(deb base-files)"
}

# --- Debian bookworm packages against the Debian tracker data -------------
root=$out/rootfs/debian
debian_base "$root"
for p in libexpat1 libass9 imagemagick-6-common; do
  py install-deb "$root" "$(deb "$p")"
done

# --- PyPI packages (+ the OS-owned python3-urllib3) ------------------------
root=$out/rootfs/pypi
debian_base "$root"
py install-deb "$root" "$(deb python3-urllib3)"
wheels=$cache/wheels
mkdir -p "$cache/pypi" "$wheels"
# pip verifies every download against the pinned hashes (--require-hashes).
req=$cache/pypi/requirements.txt
awk '$1 == "pypi" {
       split($2, a, "-"); name = a[1]; version = a[2]; sub(/\.tar\.gz$/, "", version)
       printf "%s==%s --hash=sha256:%s\n", name, version, $3 }' "$lock" > "$req"
have_all=1
while read -r kind file sha; do
  [ "$kind" = pypi ] || continue
  f=$cache/pypi/$file
  if [ ! -f "$f" ] || [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$sha" ]; then have_all=0; fi
done < <(grep -v '^#' "$lock")
if [ "$have_all" = 0 ]; then
  python3 -m pip download --quiet --no-deps --require-hashes -r "$req" -d "$cache/pypi"
fi
# sdists (MarkupSafe, PyYAML) are built into wheels once, then every install
# is offline from the cache.
for f in "$cache"/pypi/*.tar.gz; do
  stem=$(basename "$f" .tar.gz)
  built_wheel=$(find "$wheels" -maxdepth 1 -iname "${stem%%-*}-${stem#*-}-*.whl")
  [ -n "$built_wheel" ] || python3 -m pip wheel --quiet --no-deps -w "$wheels" "$f"
done
cp "$cache"/pypi/*.whl "$wheels"/
site=$root/usr/local/lib/python3.11/site-packages
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-index --no-compile \
  --target "$site" "$wheels"/*.whl
# Ground truth: pip's own listing of that directory.
python3 -m pip list --disable-pip-version-check --path "$site" --format json \
  | python3 -c 'import json,sys; [print("pypi", p["name"], p["version"], sep="\t") for p in sorted(json.load(sys.stdin), key=lambda p: p["name"].lower())]' \
  > "$out/ground-truth/pypi-pip.tsv"

# --- Go: the stdlib of a Debian-built Go binary ------------------------------
root=$out/rootfs/go
debian_base "$root"
# Copied in like a `COPY --from=…` of the binary, not dpkg-registered: a
# dpkg-owned binary is reported as its Debian package instead.
py extract-deb "$root" "$(deb golang-petname)"
rm -rf "$root/usr/share/doc/golang-petname" "$root/usr/share/man"
# Ground truth: the toolchain's own `go version -m`, else the package's
# Built-Using field (golang-1.19 (= 1.19.8-2): Debian's golang-1.19 1.19.8).
if command -v go >/dev/null; then
  # (the whole output first: `| head` would SIGPIPE go under pipefail)
  info=$(go version -m "$root/usr/bin/golang-petname")
  printf '%s\n' "${info%%$'\n'*}" | sed 's/^.*: //' > "$out/ground-truth/go-version.txt"
else
  dpkg-deb -f "$(deb golang-petname)" Built-Using \
    | sed -n 's/.*golang-[0-9.]* (= \([0-9.]*\)-.*/go\1/p' > "$out/ground-truth/go-version.txt"
fi

# --- Rust: the committed cargo-auditable binary -----------------------------
root=$out/rootfs/rust
debian_base "$root"
bin=$here/rust-auditable/bin/stella-labeled-crates
want=$(awk '/^sha256:/ { print $2 }' "$here/rust-auditable/SHA256")
[ "$(sha256sum "$bin" | cut -d' ' -f1)" = "$want" ] \
  || { echo "labeled set: $bin is not the binary SOURCE.md pins ($want)" >&2; exit 1; }
install -D -m 0755 "$bin" "$root/usr/local/bin/stella-labeled-crates"
# Ground truth: the binary's own .dep-v0 section (zlib-compressed JSON), read
# with binutils' objcopy, not with Stella.
dep=$(mktemp)
scratch=$(mktemp)
# (objcopy rewrites its input when given no output file: give it a scratch one.)
objcopy --dump-section .dep-v0="$dep" "$bin" "$scratch"
python3 -c 'import json,sys,zlib
for p in sorted(json.loads(zlib.decompress(open(sys.argv[1], "rb").read()))["packages"], key=lambda p: p["name"]):
    if p.get("source") == "crates.io":
        print("cargo", p["name"], p["version"], sep="\t")' "$dep" > "$out/ground-truth/rust-cargo.tsv"
rm -f "$dep" "$scratch"

# --- AlmaLinux 9 (rpm stand-ins) -------------------------------------------
root=$out/rootfs/almalinux
mkdir -p "$root/etc" "$root/var/lib/rpm"
cp "$here/rpm/os-release" "$root/etc/os-release"
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
# name source epoch version release (each a real AlmaLinux 9 build's EVR).
while read -r name source epoch version release _; do
  case "$name" in ''|'#'*) continue ;; esac
  args=(--define "pkg_name $name" --define "pkg_source $source"
        --define "pkg_version $version" --define "pkg_release $release")
  [ "$epoch" = - ] || args+=(--define "pkg_epoch $epoch")
  rpmbuild -bb --quiet --define "_topdir $top" --define "use_source_date_epoch_as_buildtime 1" \
    "${args[@]}" "$here/rpm/stand-in.spec" >/dev/null
done < "$here/rpm/packages.txt"
rpm --dbpath "$root/var/lib/rpm" --define '_db_backend sqlite' --initdb
rpm --dbpath "$root/var/lib/rpm" --define '_db_backend sqlite' -i --justdb --nodeps --noscripts \
  "$top"/RPMS/x86_64/*.rpm 2>/dev/null
rm -f "$root/var/lib/rpm/.rpm.lock"
rpm --dbpath "$root/var/lib/rpm" -qa --qf 'rpm\t%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n' \
  | sed 's/\t0:/\t/' | sort > "$out/ground-truth/almalinux-rpm.tsv"

# --- dpkg ground truth of every Debian root ---------------------------------
for r in debian pypi go rust; do
  dpkg-query --admindir="$out/rootfs/$r/var/lib/dpkg" -W \
    -f 'deb\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n' \
    | sort > "$out/ground-truth/$r-dpkg.tsv"
done
echo "labeled set built in $out" >&2
