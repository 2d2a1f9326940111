#!/usr/bin/env bash
# Downloads one Debian trixie package and unpacks it into PREFIX/root,
# without touching the system's apt sources: for test tools bookworm lacks
# or ships too old (oras, maven-artifact). apt checks the package against
# the signed trixie Release file, from the Debian mirror this machine
# already uses.
#
#   tests/trixie-deb.sh PREFIX PACKAGE
set -euo pipefail
prefix=$1 package=$2
# deb822 or one-line sources.
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
(cd "$prefix/debs" && apt-get "${opts[@]}" download -qq "$package" >&2)
for deb in "$prefix/debs/${package}"_*.deb; do dpkg-deb -x "$deb" "$prefix/root"; done
