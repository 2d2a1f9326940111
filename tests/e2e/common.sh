# Shared settings of the e2e harness (sourced by up.sh and down.sh).
#
# Everything the harness owns lives under $E2E_DIR; the only host changes are
# one Linux bridge and the processes it starts (all recorded in pid files).
# The defaults are chosen so that a second harness (another port, directory and
# bridge) can run on the same machine.

E2E_DIR=${STELLA_E2E_DIR:-/tmp/stella-bk}
E2E_REGISTRY=${STELLA_E2E_REGISTRY:-127.0.0.1:5100}
E2E_BRIDGE=${STELLA_E2E_BRIDGE:-stellabk0}
E2E_BRIDGE_CIDR=${STELLA_E2E_BRIDGE_CIDR:-10.250.78.1/24}
E2E_BASE_SUITE=bookworm

# Layout: downloads (kept between runs) apart from daemon state (purgeable).
E2E_CACHE=$E2E_DIR/cache          # trixie apt lists, .debs, the base rootfs tarball
E2E_ROOT=$E2E_DIR/root            # the unpacked .debs
E2E_BIN=$E2E_DIR/bin              # symlinks: what goes on PATH
E2E_STATE=$E2E_DIR/state          # dockerd data-root, registry storage
E2E_EXEC=$E2E_DIR/exec            # dockerd exec-root (holds containerd's socket)
E2E_RUN=$E2E_DIR/run              # pid files, docker.sock
E2E_LOG=$E2E_DIR/log
E2E_DOCKER_CONFIG=$E2E_DIR/docker-config

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_die() { printf '[e2e] error: %s\n' "$*" >&2; exit 1; }

# True when the pid in file $1 is alive.
e2e_pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

e2e_require_root() { [ "$(id -u)" = 0 ] || e2e_die "the e2e harness must run as root (bridge, dockerd, mounts)"; }
