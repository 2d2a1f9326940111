#!/usr/bin/env bash
# Installs oras (the OCI artifact CLI, our referrers interop oracle) from
# Debian trixie into a private prefix, without touching the system's apt
# sources: bookworm has no oras package, and trixie's Go binary runs on
# bookworm's glibc. Prints the path of the oras binary on success.
#
#   tests/install-oras.sh [PREFIX]     (default: target/oras)
set -euo pipefail
prefix=${1:-$(cd "$(dirname "$0")/.." && pwd)/target/oras}
bin=$prefix/root/usr/bin/oras
if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"; exit 0
fi
if command -v oras >/dev/null 2>&1; then
  command -v oras; exit 0
fi
# The Debian mirror this machine already uses (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
[ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
mkdir -p "$prefix"/apt/lists/partial "$prefix"/apt/cache/archives/partial "$prefix"/debs "$prefix"/root
cat > "$prefix/apt/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
opts=(-o Dir::Etc::sourcelist="$prefix/apt/trixie.sources" -o Dir::Etc::sourceparts=/dev/null
      -o Dir::State::Lists="$prefix/apt/lists" -o Dir::Cache="$prefix/apt/cache"
      -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update -qq >&2
(cd "$prefix/debs" && apt-get "${opts[@]}" download -qq oras >&2)
for deb in "$prefix"/debs/oras_*.deb; do dpkg-deb -x "$deb" "$prefix/root"; done
"$bin" version >&2
echo "$bin"
