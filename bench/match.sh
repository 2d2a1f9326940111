#!/usr/bin/env bash
# Matcher benchmark (issue 7), SKELETON: the matcher (policy/src/matcher) is
# being written concurrently; this prepares its inputs and says what is left.
#
# Target (issue 7): match the multi-layer bench image and a synthetic
# 10k-component inventory against the whole advisory corpus in < 200 ms
# once the feeds DB is loaded. Results go to bench/RESULTS.md.
#
# Usage: bench/match.sh [CORPUS_DIR]   (default /work/shared/data/advisories)
#   env: N=10000 components, SEED=1, STELLA=prebuilt stella binary
#
# Done here:
#   1. bench/match_inventory.py writes a deterministic synthetic
#      stella-inventory@1 (AlmaLinux 9 rpms, PyPI, crates, Go modules and
#      stdlib; ~half affected versions, the rest exact fixed versions) drawn
#      from the corpus' own package names -> bench/work/match/inventory-N.json
#   2. the feeds DB of the same corpus is built with `stella feeds build`
#      into an OCI layout (the same sources bench/feeds.sh uses).
# TODO when the matcher lands (integrator / matcher helper):
#   3. a `policy` example (e.g. `cargo run --release -p stella-policy
#      --example match_bench -- DB INVENTORY ROUNDS`) that loads the DB once,
#      then times ROUNDS matches of the inventory (median, p95, findings
#      count) — timed in the example, not in a unit test;
#   4. the same for the multi-layer bench image's inventory
#      (`stella scan … -o json` of bench/work/images/multi);
#   5. append the numbers to bench/RESULTS.md.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
corpus=${1:-/work/shared/data/advisories}
work="$bench/work/match"
N=${N:-10000}
SEED=${SEED:-1}
log() { echo "[bench-match] $*" >&2; }

mkdir -p "$work"
inventory="$work/inventory-$N.json"
log "generating $N components from $corpus (seed $SEED)"
python3 "$bench/match_inventory.py" --corpus "$corpus" -n "$N" --seed "$SEED" -o "$inventory"

if [ -z "${STELLA:-}" ]; then
  target=${CARGO_TARGET_DIR:-$bench/work/target}
  log "building stella (release, CARGO_TARGET_DIR=$target)"
  (cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -q -p stella-cli)
  STELLA=$target/release/stella
fi

sources=()
for dir in "$corpus"/*/; do
  name=$(basename "$dir")
  case $name in
    osv-*) sources+=("osv:${dir%/}") ;;
    alpine-secdb*) sources+=("alpine-secdb:${dir%/}") ;;
    debian-tracker*) sources+=("debian-tracker:${dir%/}") ;;
    ghsa*) sources+=("ghsa:${dir%/}") ;;
    *) log "skipped $name" ;;
  esac
done
layout="$work/feeds-layout"
rm -rf "$layout"
log "building the feeds DB from ${#sources[@]} sources"
"$STELLA" feeds build "${sources[@]}" -o "oci-dir:$layout" >&2

log "inputs ready: inventory $inventory, feeds oci-dir:$layout"
log "matcher timing not implemented yet (see TODO at the top of bench/match.sh)"
