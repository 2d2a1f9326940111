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
bash "$(dirname "$0")/trixie-deb.sh" "$prefix" oras
"$bin" version >&2
echo "$bin"
