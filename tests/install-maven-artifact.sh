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
bash "$(dirname "$0")/trixie-deb.sh" "$prefix" libmaven3-core-java
[ -f "$jar" ] || { echo "libmaven3-core-java has no $jar" >&2; exit 1; }
echo "$jar"
