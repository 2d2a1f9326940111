#!/usr/bin/env bash
# The BOM-Index benchmark on its own: builds the bench images when missing
# (bench/build-images.sh), builds stella-bomidx-bench (release), runs it.
# Prints the Markdown report (the "BOM-Index" section of bench/RESULTS.md)
# and keeps it in bench/work/results/bomidx.md.
#
# Usage: bench/bomindex/run.sh   (env: FLEET=1000 QUERIES=10000 ROUNDS=7)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
work="$bench/work"
mkdir -p "$work/results"

"$bench/build-images.sh" "$work/images" >&2
(cd "$root" && CARGO_TARGET_DIR="$work/target" cargo build --release -q -p stella-bench-bomindex)
{
  "$work/target/release/stella-bomidx-bench" --images "$work/images" --work "$work/bomidx" \
    --fleet "${FLEET:-1000}" --queries "${QUERIES:-10000}" --rounds "${ROUNDS:-7}"
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(rustc --version); git $(cd "$root" && git rev-parse --short HEAD)."
} | tee "$work/results/bomidx.md"
