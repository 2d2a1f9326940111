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
#   1. bench/match_inventory.py writes two deterministic synthetic
#      stella-inventory@1 files drawn from the corpus' own package names
#      (AlmaLinux 9 rpms, PyPI, crates, Go modules and stdlib): `worst`
#      (about half the components at affected versions, ~16 findings per
#      component) and `current` (an up-to-date image, 5 % stragglers);
#   2. the feeds DB of the same corpus: `stella feeds build` into an OCI
#      layout, `stella feeds pull` into a cache;
#   3. policy/examples/match_bench.rs opens the DB and times one match per
#      process (ROUNDS processes per case), with 1 thread and with all
#      cores — timed in the example, never in a unit test.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
corpus=${1:-/work/shared/data/advisories}
work="$bench/work/match"
N=${N:-10000}
SEED=${SEED:-1}
log() { echo "[bench-match] $*" >&2; }

mkdir -p "$work"
log "generating $N components from $corpus (seed $SEED), profiles worst and current"
for profile in worst current; do
  python3 "$bench/match_inventory.py" --corpus "$corpus" -n "$N" --seed "$SEED" \
    --profile "$profile" -o "$work/inventory-$profile-$N.json"
done

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
# Lazy DB (`stella scan`): one round per process, as a scan runs it — a
# process's first match pays for fresh memory, later rounds in the same
# process would reuse the allocator's. Loaded DB (a long-lived matcher):
# one process loads the whole DB (FeedDb::load, its time recorded apart)
# and matches ROUNDS times, as a service answering image after image.
measure() { # NAME INVENTORY THREADS MODE
  local out="$results/match-$1-t$3-$4.jsonl"
  : > "$out"
  if [ "$4" = loaded ]; then
    MATCH_BENCH_LOADED=1 MATCH_BENCH_THREADS=$3 "$MATCH_BENCH" "$cache" "$2" "$ROUNDS" > "$out.tmp"
    grep -v '"summary"' "$out.tmp" >> "$out"
    grep '"summary"' "$out.tmp" > "$results/match-$1-t$3-$4.summary.json"
    rm -f "$out.tmp"
    return
  fi
  for _ in $(seq "$ROUNDS"); do
    MATCH_BENCH_THREADS=$3 "$MATCH_BENCH" "$cache" "$2" 1 | sed -n 1p >> "$out"
  done
}

image=${IMAGE:-}
if [ -z "$image" ]; then
  for candidate in "$bench/work/images/multi/oci"; do
    [ -d "$candidate" ] && image="oci-dir:$candidate" && break
  done
fi
if [ -n "$image" ]; then
  "$STELLA" scan "$image" -q -o json="$work/image-inventory.json"
fi
for mode in lazy loaded; do
  for threads in 1 0; do
    for profile in worst current; do
      measure "$profile" "$work/inventory-$profile-$N.json" "$threads" "$mode"
    done
    [ -n "$image" ] && measure image "$work/image-inventory.json" "$threads" "$mode"
  done
done

python3 - "$results" "$image" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, os, statistics, sys
r, image, cores, load = sys.argv[1:]
print(f"<!-- {cores} cores, load average {load} at the end -->")
print("| DB | inventory | threads | components | findings | keys | advisories | median wall | min wall | median CPU (all threads) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
labels = [("worst", "synthetic worst case"), ("current", "synthetic up to date"), ("image", f"bench image ({image})")]
loads = []
for mode, threads, (name, label) in [(m, t, l) for m in ("lazy", "loaded") for t in ("1", "0") for l in labels]:
        path = f"{r}/match-{name}-t{threads}-{mode}.jsonl"
        if not os.path.exists(path):
            continue
        summary = f"{r}/match-{name}-t{threads}-{mode}.summary.json"
        if os.path.exists(summary):
            loads.append(json.load(open(summary))["loadMs"])
        rows = [json.loads(l) for l in open(path) if l.strip()]
        if not rows:
            continue
        walls = [x["wallMs"] for x in rows]
        cpus = [x["cpuMs"] for x in rows]
        first = rows[0]
        t = "all" if threads == "0" else threads
        print(f"| {mode} | {label} | {t} | {first['components']} | {first['findings']} | {first['keys']} | {first['advisories']} "
              f"| {statistics.median(walls):.0f} ms | {min(walls):.0f} ms | {statistics.median(cpus):.0f} ms |")
if loads:
    print(f"\nLoading the whole DB (FeedDb::load): median {statistics.median(loads):.0f} ms over {len(loads)} loads.")
PY
