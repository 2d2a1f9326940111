#!/usr/bin/env bash
# Matcher benchmark (issue 7): the multi-layer bench image's inventory and a
# synthetic 10k-component inventory matched against the whole advisory
# corpus, timed once the feeds DB is loaded (target < 200 ms). Results go to
# bench/work/results/match-*.jsonl; the summary is printed as Markdown.
#
# Usage: bench/match.sh [CORPUS_DIR]   (default /work/shared/data/advisories)
#   env: N=10000 components, SEED=1, ROUNDS=7, STELLA=prebuilt stella,
#        MATCH_BENCH=prebuilt match_bench example,
#        IMAGE=oci-dir:… the multi-layer image (default bench/work/images/…)
#
#   1. bench/match_inventory.py writes a deterministic synthetic
#      stella-inventory@1 (AlmaLinux 9 rpms, PyPI, crates, Go modules and
#      stdlib; ~half affected versions, the rest exact fixed versions) drawn
#      from the corpus' own package names;
#   2. the feeds DB of the same corpus: `stella feeds build` into an OCI
#      layout, `stella feeds pull` into a cache;
#   3. policy/examples/match_bench.rs opens the DB, then times ROUNDS
#      matches of each inventory (a fresh DB handle per round, so no
#      warm head cache) — timed in the example, never in a unit test.
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

cache="$work/feeds-cache"
rm -rf "$cache"
"$STELLA" feeds pull "oci-dir:$layout" --cache-dir "$cache" >&2

if [ -z "${MATCH_BENCH:-}" ]; then
  target=${CARGO_TARGET_DIR:-$bench/work/target}
  (cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -q -p stella-policy --example match_bench)
  MATCH_BENCH=$target/release/examples/match_bench
fi
results="$bench/work/results"
mkdir -p "$results"
ROUNDS=${ROUNDS:-7}
"$MATCH_BENCH" "$cache" "$inventory" "$ROUNDS" > "$results/match-synthetic.jsonl"

image=${IMAGE:-}
if [ -z "$image" ]; then
  for candidate in "$bench/work/images/multi/oci"; do
    [ -d "$candidate" ] && image="oci-dir:$candidate" && break
  done
fi
image_line="no multi-layer image found (set IMAGE=oci-dir:…)"
if [ -n "$image" ]; then
  "$STELLA" scan "$image" -q -o json="$work/image-inventory.json"
  "$MATCH_BENCH" "$cache" "$work/image-inventory.json" "$ROUNDS" > "$results/match-image.jsonl"
fi

python3 - "$results" "$image" <<'PY'
import json, os, sys
r, image = sys.argv[1:]
def summary(name):
    rows = [json.loads(l) for l in open(f"{r}/{name}")]
    return rows[0], rows[-1]
print("| inventory | components | findings | keys looked up | advisories read | median wall | median on-CPU | max |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for label, name in [("synthetic", "match-synthetic.jsonl"), (f"bench image ({image})", "match-image.jsonl")]:
    if not os.path.exists(f"{r}/{name}") or (name == "match-image.jsonl" and not image):
        continue
    first, s = summary(name)
    print(f"| {label} | {first['components']} | {first['findings']} | {first['keys']} | {first['advisories']} | {s['medianMs']} ms | {s['medianCpuMs']} ms | {s['maxMs']} ms |")
    print(f"<!-- load {s['loadMs']} ms, {s['rounds']} rounds -->")
PY
