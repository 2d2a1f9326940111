#!/usr/bin/env bash
# Starts Stella's real-infrastructure e2e harness on a Debian bookworm machine
# (root, no internet besides the Debian mirror):
#
#   - Docker 26 + its managed containerd 1.7 + embedded BuildKit 0.13 with the
#     containerd image store, buildx 0.13 as a CLI plugin, cosign, oras and a
#     static busybox, all unpacked from Debian trixie .debs through a private
#     apt configuration (the system's apt sources are never changed; trixie's Go
#     binaries need only glibc 2.34), plus bookworm's runc;
#   - a CNCF distribution 2.8 registry (Debian docker-registry) on loopback;
#   - a bridge without iptables rules, which BuildKit needs to run SBOM
#     generator containers (they use the default network);
#   - a debootstrap minbase bookworm base image pushed to the registry;
#   - a smoke build, so a broken setup fails here with the daemon's log.
#
# Idempotent: what already runs is kept, downloads under $STELLA_E2E_DIR/cache
# are reused. Then: source "$STELLA_E2E_DIR/env.sh". Stop with down.sh.
#
# Environment: STELLA_E2E_DIR (/tmp/stella-bk), STELLA_E2E_REGISTRY
# (127.0.0.1:5100), STELLA_E2E_BRIDGE (stellabk0), STELLA_E2E_BRIDGE_CIDR
# (10.250.78.1/24).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
started=$SECONDS

# The trixie packages we unpack (no dependencies resolved: Go binaries).
TRIXIE_PACKAGES=(docker.io docker-cli containerd docker-buildx cosign oras busybox-static tini)
# Host packages from the machine's own (bookworm) sources.
HOST_PACKAGES=(runc debootstrap iproute2 curl docker-registry ca-certificates debian-archive-keyring)

install_host_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  e2e_log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Debian mirror the machine already uses, from deb822 or one-line sources.
debian_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  [ -n "$m" ] || e2e_die "no Debian mirror in the apt sources"
  echo "${m%/}"
}

# apt-get with a private trixie configuration rooted in $E2E_CACHE/apt.
trixie_apt() {
  apt-get -o Dir::Etc::sourcelist="$E2E_CACHE/apt/trixie.sources" -o Dir::Etc::sourceparts=/dev/null \
    -o Dir::State::Lists="$E2E_CACHE/apt/lists" -o Dir::Cache="$E2E_CACHE/apt/cache" \
    -o APT::Sandbox::User=root "$@"
}

fetch_trixie_debs() {
  local missing=() p
  for p in "${TRIXIE_PACKAGES[@]}"; do
    compgen -G "$E2E_CACHE/debs/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  mkdir -p "$E2E_CACHE"/apt/lists/partial "$E2E_CACHE"/apt/cache/archives/partial "$E2E_CACHE/debs"
  cat >"$E2E_CACHE/apt/trixie.sources" <<EOF
Types: deb
URIs: $(debian_mirror)
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  e2e_log "downloading trixie ${missing[*]}"
  # Cached package lists can name versions the mirror has dropped since: on a
  # failed download, refresh the lists once and retry.
  if ! compgen -G "$E2E_CACHE/apt/lists/*_Packages*" >/dev/null; then trixie_apt update -qq; fi
  if ! (cd "$E2E_CACHE/debs" && trixie_apt download -qq "${missing[@]}"); then
    trixie_apt update -qq
    (cd "$E2E_CACHE/debs" && trixie_apt download -qq "${missing[@]}")
  fi
}

unpack_debs() {
  local deb stamp
  mkdir -p "$E2E_ROOT/.unpacked"
  for deb in "$E2E_CACHE"/debs/*.deb; do
    stamp=$E2E_ROOT/.unpacked/$(basename "$deb")
    [ -e "$stamp" ] && continue
    e2e_log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$E2E_ROOT"
    touch "$stamp"
  done
}

# PATH entries for dockerd (containerd, shims, runc, docker-init) and for us.
link_binaries() {
  local name target
  mkdir -p "$E2E_BIN" "$E2E_DOCKER_CONFIG/cli-plugins"
  # trixie's runc and tini are C programs built against glibc 2.38+: use
  # bookworm's runc, and tini-static as docker-init.
  local -A links=(
    [docker]=$E2E_ROOT/usr/bin/docker
    [dockerd]=$E2E_ROOT/usr/sbin/dockerd
    [containerd]=$E2E_ROOT/usr/bin/containerd
    [containerd-shim-runc-v2]=$E2E_ROOT/usr/bin/containerd-shim-runc-v2
    [ctr]=$E2E_ROOT/usr/bin/ctr
    [docker-init]=$E2E_ROOT/usr/bin/tini-static
    [runc]=/usr/sbin/runc
    [cosign]=$E2E_ROOT/usr/bin/cosign
    [oras]=$E2E_ROOT/usr/bin/oras
  )
  for name in "${!links[@]}"; do
    target=${links[$name]}
    [ -x "$target" ] || e2e_die "missing $target (for $name)"
    ln -sfn "$target" "$E2E_BIN/$name"
  done
  ln -sfn "$E2E_ROOT/usr/libexec/docker/cli-plugins/docker-buildx" "$E2E_DOCKER_CONFIG/cli-plugins/docker-buildx"
  [ -f "$E2E_DOCKER_CONFIG/config.json" ] || echo '{}' >"$E2E_DOCKER_CONFIG/config.json"
}

write_env() {
  cat >"$E2E_DIR/env.sh" <<EOF
# Stella e2e harness (tests/e2e/up.sh). Source me.
export PATH="$E2E_BIN:\$PATH"
export DOCKER_HOST="unix://$E2E_RUN/docker.sock"
export DOCKER_CONFIG="$E2E_DOCKER_CONFIG"
export STELLA_E2E_DIR="$E2E_DIR"
export STELLA_E2E_REGISTRY="$E2E_REGISTRY"
export STELLA_E2E_CONTAINERD_ADDRESS="$E2E_EXEC/containerd/containerd.sock"
export STELLA_E2E_CONTAINERD_NAMESPACE=moby
export STELLA_E2E_COSIGN="$E2E_BIN/cosign"
export STELLA_E2E_ORAS="$E2E_BIN/oras"
export STELLA_E2E_BUSYBOX="$E2E_ROOT/usr/bin/busybox"
export STELLA_E2E_BASE="$E2E_REGISTRY/base:$E2E_BASE_SUITE"
EOF
}

registry_answers() { curl -fsS -o /dev/null --max-time 2 "http://$E2E_REGISTRY/v2/"; }

start_registry() {
  if e2e_pid_alive "$E2E_RUN/registry.pid"; then
    registry_answers && return
    e2e_die "our docker-registry (pid $(cat "$E2E_RUN/registry.pid")) does not answer on $E2E_REGISTRY: run down.sh"
  fi
  registry_answers 2>/dev/null && e2e_die "something else answers on $E2E_REGISTRY: set STELLA_E2E_REGISTRY"
  mkdir -p "$E2E_STATE/registry"
  cat >"$E2E_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $E2E_STATE/registry
  delete:
    enabled: true
http:
  addr: $E2E_REGISTRY
EOF
  e2e_log "starting docker-registry on $E2E_REGISTRY"
  setsid docker-registry serve "$E2E_DIR/registry.yml" >>"$E2E_LOG/registry.log" 2>&1 </dev/null &
  echo $! >"$E2E_RUN/registry.pid"
  local _
  for _ in $(seq 100); do registry_answers 2>/dev/null && return; sleep 0.1; done
  tail -n 20 "$E2E_LOG/registry.log" >&2
  e2e_die "docker-registry did not answer on $E2E_REGISTRY"
}

create_bridge() {
  ip link show "$E2E_BRIDGE" >/dev/null 2>&1 && return
  e2e_log "creating bridge $E2E_BRIDGE ($E2E_BRIDGE_CIDR, no iptables)"
  ip link add "$E2E_BRIDGE" type bridge
  ip addr add "$E2E_BRIDGE_CIDR" dev "$E2E_BRIDGE"
  ip link set "$E2E_BRIDGE" up
}

docker_answers() { docker version >/dev/null 2>&1; }

daemon_log_tail() {
  echo "---- last lines of $E2E_LOG/dockerd.log" >&2
  tail -n 40 "$E2E_LOG/dockerd.log" >&2 || true
}

start_dockerd() {
  local _
  if e2e_pid_alive "$E2E_RUN/dockerd.pid"; then
    # Ours and alive: maybe still starting. A second dockerd on the same
    # data root would fight it, so wait rather than start another.
    for _ in $(seq 120); do docker_answers && return; sleep 0.25; done
    daemon_log_tail
    e2e_die "dockerd (pid $(cat "$E2E_RUN/dockerd.pid")) runs but does not answer: run down.sh"
  fi
  mkdir -p "$E2E_STATE/docker" "$E2E_EXEC"
  # No iptables/forwarding/masquerading: containers only reach the bridge. The
  # containerd image store makes BuildKit keep attestation manifests.
  cat >"$E2E_DIR/daemon.json" <<EOF
{
  "features": { "containerd-snapshotter": true },
  "bridge": "$E2E_BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "ipv6": false,
  "userland-proxy": false,
  "cgroup-parent": "stella-bk"
}
EOF
  e2e_log "starting dockerd"
  PATH="$E2E_BIN:$PATH" setsid dockerd --config-file "$E2E_DIR/daemon.json" \
    --data-root "$E2E_STATE/docker" --exec-root "$E2E_EXEC" --pidfile "$E2E_RUN/dockerd.pid" \
    --host "unix://$E2E_RUN/docker.sock" >>"$E2E_LOG/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 240); do docker_answers && break; sleep 0.25; done
  docker_answers || { daemon_log_tail; e2e_die "dockerd did not come up"; }
  [ -S "$E2E_EXEC/containerd/containerd.sock" ] \
    || { daemon_log_tail; e2e_die "no managed containerd socket at $E2E_EXEC/containerd/containerd.sock"; }
}

registry_has() { # REPO TAG
  curl -fsS -o /dev/null --max-time 5 \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$E2E_REGISTRY/v2/$1/manifests/$2" 2>/dev/null
}

push_base_image() {
  registry_has base "$E2E_BASE_SUITE" && return
  local tarball=$E2E_CACHE/rootfs-$E2E_BASE_SUITE.tar rootfs
  if [ ! -s "$tarball" ]; then
    rootfs=$E2E_CACHE/rootfs-$E2E_BASE_SUITE
    rm -rf "$rootfs"
    e2e_log "debootstrap --variant=minbase $E2E_BASE_SUITE (log: $E2E_LOG/debootstrap.log)"
    debootstrap --variant=minbase "$E2E_BASE_SUITE" "$rootfs" "$(debian_mirror)" >"$E2E_LOG/debootstrap.log" 2>&1 \
      || { tail -n 20 "$E2E_LOG/debootstrap.log" >&2; e2e_die "debootstrap failed"; }
    # Downloaded .debs and apt lists are not part of an image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  e2e_log "importing and pushing $E2E_REGISTRY/base:$E2E_BASE_SUITE"
  docker import --change 'CMD ["/bin/bash"]' "$tarball" "$E2E_REGISTRY/base:$E2E_BASE_SUITE" >/dev/null
  docker push --quiet "$E2E_REGISTRY/base:$E2E_BASE_SUITE" >/dev/null
}

# A plain build against the registry: proves dockerd, BuildKit, the bridge and
# the registry work together before any test relies on them.
smoke_build() {
  local dir=$E2E_DIR/smoke
  mkdir -p "$dir"
  printf 'FROM %s/base:%s\nRUN echo ok > /smoke.txt\n' "$E2E_REGISTRY" "$E2E_BASE_SUITE" >"$dir/Dockerfile"
  e2e_log "smoke build $E2E_REGISTRY/e2e-smoke:latest"
  if ! docker buildx build --progress=plain --push -t "$E2E_REGISTRY/e2e-smoke:latest" "$dir" >"$E2E_LOG/smoke.log" 2>&1; then
    tail -n 30 "$E2E_LOG/smoke.log" >&2
    daemon_log_tail
    e2e_die "the smoke build failed"
  fi
  registry_has e2e-smoke latest || e2e_die "the smoke build pushed nothing to $E2E_REGISTRY"
}

main() {
  e2e_require_root
  [ ${#E2E_EXEC} -le 60 ] || e2e_die "STELLA_E2E_DIR is too long for unix socket paths: $E2E_DIR"
  mkdir -p "$E2E_CACHE" "$E2E_RUN" "$E2E_LOG" "$E2E_STATE"
  install_host_packages
  fetch_trixie_debs
  unpack_debs
  link_binaries
  write_env
  # shellcheck source=/dev/null
  source "$E2E_DIR/env.sh"
  start_registry
  create_bridge
  start_dockerd
  e2e_log "$(docker version --format 'docker {{.Server.Version}}'), $(docker buildx version | cut -d' ' -f1-2), $(containerd --version | cut -d' ' -f3)"
  push_base_image
  smoke_build
  e2e_log "ready in $((SECONDS - started))s: source $E2E_DIR/env.sh"
}

main "$@"
