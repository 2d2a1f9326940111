#!/bin/sh
# BuildKit SBOM generator protocol (DESIGN.md §3): scan the read-only root
# filesystem in $BUILDKIT_SCAN_SOURCE with syft and write one in-toto statement
# (SPDX predicate, empty subject: BuildKit fills it in) to
# $BUILDKIT_SCAN_DESTINATION/sbom.spdx.json.
set -eu
src=${BUILDKIT_SCAN_SOURCE:?BUILDKIT_SCAN_SOURCE is not set: run me as a BuildKit SBOM generator}
dst=${BUILDKIT_SCAN_DESTINATION:?BUILDKIT_SCAN_DESTINATION is not set}
# Every file in $dst must be a statement: syft writes its document elsewhere.
spdx=$(mktemp)
syft scan "dir:$src" -o "spdx-json=$spdx" -q
{
  printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":'
  cat "$spdx"
  printf '}\n'
} >"$dst/sbom.spdx.json"
rm -f "$spdx"
