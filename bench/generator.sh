#!/usr/bin/env bash
# Build-time SBOM generator benchmark (issue 5) on the real e2e harness
# (tests/e2e/up.sh): the same multi-stage image built with
#   plain   no --sbom
#   noop    --sbom=generator=<busybox writing one empty statement>: BuildKit's floor
#   stella  --sbom=generator=<stella generator image> (`stella generator push`)
#   stella-nofiles  the same, pushed with --no-layer-files (no files[] for
#           BuildKit to annotate with layers)
#   syft    --sbom=generator=<syft wrapper> (bench/generator/syft)
# each --no-cache and then cached (the same build again), N rounds round-robin,
# plus `stella attach REF` right after each cold stella build (the image's
# first attach) and once more (re-attaching the same bytes). Writes raw data under
# bench/work/generator/results and the generated "Build-time generator" section
# of bench/RESULTS.md (bench/generator_report.py).
#
# Usage: bench/generator.sh [--only syft]      (root; env: N=3,
#        STELLA=path/to/stella (default: cargo build --release into
#        ${CARGO_TARGET_DIR:-target}), STELLA_ATTACH_ARGS="" extra attach args,
#        STELLA_GENERATOR_PUSH_ARGS="" extra `stella generator push` args,
#        RESULTS_MD=bench/RESULTS.md)
# --only syft skips everything that needs the stella binary (plain + syft only).
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
work=$bench/work/generator
results=$work/results
N=${N:-3}
RESULTS_MD=${RESULTS_MD:-$bench/RESULTS.md}
modes=(plain noop stella stella-nofiles syft)
case "${1:-}" in
  "") ;;
  --only) [ "${2:-}" = syft ] || { echo "usage: $0 [--only syft]" >&2; exit 2; }; modes=(plain noop syft) ;;
  *) echo "usage: $0 [--only syft]" >&2; exit 2 ;;
esac
with_stella() { [[ " ${modes[*]} " == *" stella "* ]]; }
log() { echo "[bench-generator] $*" >&2; }
now_ns() { date +%s%N; }

# ---------------------------------------------------------------- harness and tools
bash "$root/tests/e2e/up.sh"
# shellcheck source=/dev/null
source "${STELLA_E2E_DIR:-/tmp/stella-bk}/env.sh"
reg=$STELLA_E2E_REGISTRY
mkdir -p "$work" "$results"
rm -f "$results"/*.log

declare -A generator=()
generator[syft]=$("$bench/generator/syft/build.sh" "$reg/syft-generator:1.18.1" "$work")
# The floor: a generator that scans nothing and writes one minimal statement.
# What it costs is BuildKit's own SBOM machinery (start a container from the
# generator image, collect and export the attestation), the same for any generator.
noop=$work/noop-generator
mkdir -p "$noop"
install -m 0755 "$STELLA_E2E_BUSYBOX" "$noop/busybox"
cat >"$noop/generate.sh" <<'EOS'
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"noop","documentNamespace":"https://stella.invalid/noop","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: noop"]}}}\n' >"$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json"
EOS
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY generate.sh /generate.sh\nENTRYPOINT ["/bin/busybox", "sh", "/generate.sh"]\n' >"$noop/Dockerfile"
docker buildx build -q --provenance=false -t "$reg/noop-generator:1" --push "$noop" >/dev/null
generator[noop]=$reg/noop-generator:1
if with_stella; then
  if [ -z "${STELLA:-}" ]; then
    log "building stella (release)"
    (cd "$root" && cargo build --release -q -p stella-cli)
    STELLA=${CARGO_TARGET_DIR:-$root/target}/release/stella
  fi
  log "stella generator push $reg/stella-generator:bench"
  read -r -a push_args <<<"${STELLA_GENERATOR_PUSH_ARGS:-}"
  "$STELLA" generator push "${push_args[@]}" "$reg/stella-generator:bench"
  generator[stella]=$reg/stella-generator:bench
  "$STELLA" generator push --no-layer-files "${push_args[@]}" "$reg/stella-generator:bench-nofiles"
  generator[stella-nofiles]=$reg/stella-generator:bench-nofiles
fi

# ---------------------------------------------------------------- the bench image
# Real package content, fetched here (RUN steps have no network): the pinned
# bench/node10k/nest project (npm ci), five pinned PyPI distributions, and
# oras, a Go binary with module build info.
context=$work/context
if [ ! -f "$context/.complete" ]; then
  log "preparing the build context in $context"
  rm -rf "$context"
  mkdir -p "$context/node" "$context/site-packages"
  cp "$bench/node10k/nest/package.json" "$bench/node10k/nest/package-lock.json" "$context/node/"
  (cd "$context/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 \
    || { tail -20 "$work/npm.log" >&2; exit 1; }
  python3 -m pip install --quiet --no-warn-script-location --no-cache-dir --target "$context/site-packages" \
    requests==2.32.3 flask==3.1.0 pyyaml==6.0.2 click==8.1.7 jinja2==3.1.4 >"$work/pip.log" 2>&1 \
    || { tail -20 "$work/pip.log" >&2; exit 1; }
  cp "$(readlink -f "$STELLA_E2E_ORAS")" "$context/oras"
  touch "$context/.complete"
fi
cat >"$context/Dockerfile" <<EOF
FROM $STELLA_E2E_BASE AS assets
RUN mkdir -p /srv/data && i=0 && while [ \$i -lt 2000 ]; do echo "record \$i" >/srv/data/r\$i.txt; i=\$((i+1)); done
RUN tar -C /srv -czf /srv/data.tgz data

FROM $STELLA_E2E_BASE
COPY node/ /app/
COPY site-packages/ /usr/local/lib/python3.11/dist-packages/
COPY oras /usr/local/bin/oras
COPY --from=assets /srv/data.tgz /srv/data.tgz
RUN mkdir -p /etc/bench && echo ready >/etc/bench/state && groupadd -r bench && useradd -r -g bench bench
EOF

# ---------------------------------------------------------------- runs
# build MODE CACHE ROUND: one timed build; appends a row to timings.tsv. The
# generator step's own duration is read from BuildKit's plain progress output.
build() {
  local mode=$1 cache=$2 round=$3 args=(--progress=plain --provenance=false --push)
  local tag="$reg/bench-generator:$mode" out="$results/$mode.$cache.$round.log" t0 t1 step
  [ "$cache" = cold ] && args+=(--no-cache)
  [ "$mode" = plain ] || args+=("--sbom=generator=${generator[$mode]}")
  t0=$(now_ns)
  docker buildx build "${args[@]}" -t "$tag" "$context" >"$out" 2>&1 \
    || { log "$mode/$cache build failed:"; tail -20 "$out" >&2; exit 1; }
  t1=$(now_ns)
  # "#12 [linux/amd64] generating sbom using REF" ... "#12 DONE 1.9s"
  step=$(awk '/generating sbom using/ { id = $1 } id != "" && $1 == id && $2 == "DONE" { print $3 }' "$out" | tr -d s | tail -n1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$cache" "$round" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" "${step:--}" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$results/timings.tsv"
}

# attach ROUND KIND: one timed `stella attach` of the image the stella generator built.
read -r -a attach_args <<<"${STELLA_ATTACH_ARGS:-}"
attach() {
  local round=$1 kind=$2 t0 t1 status=ok
  t0=$(now_ns)
  "$STELLA" attach -q "${attach_args[@]}" "$reg/bench-generator:stella" >"$results/attach.$round.$kind.log" 2>&1 || status=failed
  t1=$(now_ns)
  printf '%s\t%s\t%s\t%s\n' "$round" "$kind" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" "$status" >>"$results/attach.tsv"
}

printf 'mode\tcache\tround\twall_s\tgenerator_step_s\tloadavg1\n' >"$results/timings.tsv"
printf 'round\tkind\twall_s\tstatus\n' >"$results/attach.tsv"
# Warm-up: pulls the base and generator images into the daemon once.
for mode in "${modes[@]}"; do build "$mode" cold 0; done
for round in $(seq "$N"); do
  for mode in "${modes[@]}"; do
    log "round $round/$N: $mode"
    build "$mode" cold "$round"
    # A --no-cache build makes a new image: its first attach writes everything.
    if [ "$mode" = stella ]; then attach "$round" first; attach "$round" again; fi
    build "$mode" cached "$round"
  done
done

# Layers of the image every mode built (the per-layer overhead divides by it).
python3 - "$reg" >"$results/layers" <<'EOF'
import json, sys, urllib.request
reg = "http://" + sys.argv[1]
accept = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])
get = lambda p: json.load(urllib.request.urlopen(urllib.request.Request(reg + p, headers={"Accept": accept})))
top = get("/v2/bench-generator/manifests/plain")
if "manifests" in top:  # an index: its linux image manifest
    image = next(m for m in top["manifests"] if m.get("platform", {}).get("os") == "linux")
    top = get("/v2/bench-generator/manifests/" + image["digest"])
print(len(top["layers"]))
EOF

stella_rev="git $(cd "$root" && git rev-parse --short HEAD)"
python3 "$bench/generator_report.py" "$results" "$RESULTS_MD" "$N" "$stella_rev"
log "done: $RESULTS_MD (raw data in $results)"
