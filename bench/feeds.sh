#!/usr/bin/env bash
# Advisory feeds DB benchmark (issue 6): builds the whole advisory corpus
# into one feeds artifact, pushes it to an OCI layout and to a real
# distribution registry on loopback, pulls it into an empty cache, then
# times load + 10k (ecosystem, name) lookups (target < 200 ms) and checks
# that a no-change rebuild re-pushes zero layers. Prints a Markdown summary;
# raw numbers go to bench/work/results/feeds-*.
#
# Usage: bench/feeds.sh [CORPUS_DIR]   (default /work/shared/data/advisories)
#   env: STELLA=prebuilt stella binary, LOOKUP_BENCH=prebuilt
#        feeds_lookup_bench example, N=10000 lookups, ROUNDS=7,
#        REGISTRY=/usr/bin/docker-registry (skipped when missing)
#
# Sources: every CORPUS_DIR/osv-* directory as `osv:DIR`, alpine-secdb*,
# debian-tracker* and ghsa* with their connectors (KINDS below); anything else
# is reported as skipped.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
corpus=${1:-/work/shared/data/advisories}
work="$bench/work/feeds"
results="$bench/work/results"
N=${N:-10000}
ROUNDS=${ROUNDS:-7}
REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
log() { echo "[bench-feeds] $*" >&2; }
ms() { date +%s%N; }
elapsed() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# Directory-name pattern → connector kind. Extend as connectors land.
KINDS=("osv-*=osv" "alpine-secdb*=alpine-secdb" "debian-tracker*=debian-tracker" "ghsa*=ghsa")

if [ -z "${STELLA:-}" ] || [ -z "${LOOKUP_BENCH:-}" ]; then
  target=${CARGO_TARGET_DIR:-$bench/work/target}
  log "building stella and feeds_lookup_bench (release, CARGO_TARGET_DIR=$target)"
  (cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -q -p stella-cli \
    && CARGO_TARGET_DIR="$target" cargo build --release -q -p stella-feeds --example feeds_lookup_bench)
  STELLA=${STELLA:-$target/release/stella}
  LOOKUP_BENCH=${LOOKUP_BENCH:-$target/release/examples/feeds_lookup_bench}
fi

sources=()
for dir in "$corpus"/*/; do
  name=$(basename "$dir")
  kind=""
  for rule in "${KINDS[@]}"; do
    # shellcheck disable=SC2053
    [[ $name == ${rule%%=*} ]] && kind=${rule#*=}
  done
  if [ -n "$kind" ]; then sources+=("$kind:${dir%/}"); else log "skipped $name (no connector kind for it yet)"; fi
done
[ ${#sources[@]} -gt 0 ] || { log "no sources under $corpus"; exit 1; }
docs=$(find "${sources[@]#*:}" -type f \( -name '*.json' -o -name '*.yaml' -o -name '*.yml' \) | wc -l)
bytes=$(du -sb "${sources[@]#*:}" | awk '{s+=$1} END {print s}')
log "${#sources[@]} sources, $docs documents, $bytes bytes"

rm -rf "$work"; mkdir -p "$work" "$results"
layout="$work/layout"
cache="$work/cache"

t=$(ms); "$STELLA" feeds build "${sources[@]}" -o "oci-dir:$layout:latest" --json > "$results/feeds-build1.json"
build_ms=$(elapsed "$t")
t=$(ms); "$STELLA" feeds build "${sources[@]}" -o "oci-dir:$layout:latest" --json > "$results/feeds-build2.json"
rebuild_ms=$(elapsed "$t")
t=$(ms); "$STELLA" feeds pull "oci-dir:$layout:latest" --cache-dir "$cache" --json > "$results/feeds-pull.json"
pull_ms=$(elapsed "$t")
t=$(ms); "$STELLA" feeds pull "oci-dir:$layout:latest" --cache-dir "$cache" --json > "$results/feeds-repull.json"
repull_ms=$(elapsed "$t")

reg_line="registry: skipped ($REGISTRY missing)"
if [ -x "$REGISTRY" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/registry/data"
  cat > "$work/registry/config.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$port
YML
  "$REGISTRY" serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
  reg_pid=$!
  trap 'kill $reg_pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  ref="registry:127.0.0.1:$port/stella/feeds:latest"
  t=$(ms); "$STELLA" feeds build "${sources[@]}" -o "$ref" --json > "$results/feeds-reg-push1.json"
  reg_push_ms=$(elapsed "$t")
  t=$(ms); "$STELLA" feeds build "${sources[@]}" -o "$ref" --json > "$results/feeds-reg-push2.json"
  reg_repush_ms=$(elapsed "$t")
  t=$(ms); "$STELLA" feeds pull "$ref" --cache-dir "$work/cache-reg" --json > "$results/feeds-reg-pull.json"
  reg_pull_ms=$(elapsed "$t")
  reg_line=$(python3 - "$results" "$reg_push_ms" "$reg_repush_ms" "$reg_pull_ms" <<'PY'
import json, sys
r = sys.argv[1]
p1 = json.load(open(f"{r}/feeds-reg-push1.json")); p2 = json.load(open(f"{r}/feeds-reg-push2.json"))
pl = json.load(open(f"{r}/feeds-reg-pull.json"))
lay = lambda p: [b for b in p["uploaded"] if b["name"] != "config"]
print(f"registry: first push {sys.argv[2]} ms ({len(p1['uploaded'])} blobs, {sum(b['size'] for b in p1['uploaded'])} bytes); "
      f"no-change rebuild+push {sys.argv[3]} ms, {len(lay(p2))} layers / {len(p2['uploaded'])} blobs uploaded; "
      f"pull into an empty cache {sys.argv[4]} ms ({len(pl['downloaded'])} blobs, {sum(b['size'] for b in pl['downloaded'])} bytes)")
PY
)
fi

"$LOOKUP_BENCH" "$cache" "$N" "$ROUNDS" merged > "$results/feeds-lookup.jsonl"
"$LOOKUP_BENCH" "$cache" "$N" "$ROUNDS" raw > "$results/feeds-lookup-raw.jsonl"

python3 - "$results" "$build_ms" "$rebuild_ms" "$pull_ms" "$repull_ms" "$docs" "$bytes" "$reg_line" <<'PY'
import json, sys
r, build_ms, rebuild_ms, pull_ms, repull_ms, docs, nbytes, reg = sys.argv[1:]
b1 = json.load(open(f"{r}/feeds-build1.json")); b2 = json.load(open(f"{r}/feeds-build2.json"))
pull = json.load(open(f"{r}/feeds-pull.json")); repull = json.load(open(f"{r}/feeds-repull.json"))
rounds = [json.loads(l) for l in open(f"{r}/feeds-lookup.jsonl")]
summary = rounds[-1]; rounds = rounds[:-1]
raw = [json.loads(l) for l in open(f"{r}/feeds-lookup-raw.jsonl")][-1]
layers2 = [b for b in b2["uploaded"] if b["name"] != "config"]
size = sum(b["size"] for b in b1["uploaded"])
print(f"| measure | value |\n|---|---|")
print(f"| corpus | {docs} documents, {int(nbytes)/1e6:.1f} MB |")
print(f"| DB | {pull['advisories']} advisory records in {len(b1['uploaded'])-1} shards, {pull['keys']} (ecosystem, name) keys, {size/1e6:.2f} MB compressed |")
print(f"| build + push to OCI layout (first) | {build_ms} ms |")
print(f"| no-change rebuild + push | {rebuild_ms} ms; **{len(layers2)} layers** re-pushed ({len(b2['uploaded'])} blobs) |")
print(f"| pull into an empty cache (download, verify, unpack, index) | {pull_ms} ms, {len(pull['downloaded'])} blobs |")
print(f"| pull again (all cached) | {repull_ms} ms, {len(repull['downloaded'])} blobs downloaded |")
print(f"| load + {rounds[0]['keys']} merged lookups ({rounds[0]['found']} hits, {rounds[0]['advisories']} advisories parsed) | median **{summary['medianMs']} ms** wall, {summary['medianCpuMs']} ms on-CPU (min {summary['minMs']}, max {summary['maxMs']}; load alone {sorted(x['loadMs'] for x in rounds)[len(rounds)//2]} ms) over {summary['rounds']} rounds |")
print(f"| the same lookups unmerged (`FeedDb::lookup`) | median {raw['medianMs']} ms wall, {raw['medianCpuMs']} ms on-CPU |")
print(f"\n{reg}")
assert len(layers2) == 0, "a no-change rebuild re-pushed layers"
PY
