#!/usr/bin/env bash
# Installs Maven's maven-artifact jar (home of ComparableVersion, the oracle for
# the maven version comparator) from Debian trixie's libmaven3-core-java into a
# private prefix, without touching the system's apt sources. bookworm ships
# Maven 3.8.7, whose ComparableVersion predates the 3.9 fixes the shared
# vectors follow (e.g. `1-1 = 1-ga-1`); trixie ships 3.9.x. The jar is plain
# Java bytecode and runs on bookworm's JDK 17. apt checks the package against
# the signed trixie Release file. Prints the path of the jar on success.
#
#   tests/install-maven-artifact.sh [PREFIX]     (default: target/maven-artifact)
set -euo pipefail
prefix=${1:-$(cd "$(dirname "$0")/.." && pwd)/target/maven-artifact}
jar=$prefix/root/usr/share/java/maven3-artifact.jar
if [ -f "$jar" ]; then
  echo "$jar"; exit 0
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
(cd "$prefix/debs" && apt-get "${opts[@]}" download -qq libmaven3-core-java >&2)
for deb in "$prefix"/debs/libmaven3-core-java_*.deb; do dpkg-deb -x "$deb" "$prefix/root"; done
[ -f "$jar" ] || { echo "libmaven3-core-java has no $jar" >&2; exit 1; }
echo "$jar"
