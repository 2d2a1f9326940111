#!/usr/bin/env bash
# Stops what tests/e2e/up.sh started and undoes its host changes: dockerd (and
# the containerd, shims and containers it manages), the registry, mounts under
# $STELLA_E2E_DIR, the bridge. Downloads are kept for the next up.sh.
#
#   down.sh            stop; keep images, registry data and downloads
#   down.sh --purge    also drop daemon and registry state (keep downloads)
#   down.sh --purge-all  remove $STELLA_E2E_DIR entirely
#
# Only processes recorded in our pid files, or whose executable lies under
# $STELLA_E2E_DIR, are signalled, each by its pid. Idempotent.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
mode=${1:-}
case "$mode" in ''|--purge|--purge-all) ;; *) e2e_die "usage: down.sh [--purge|--purge-all]";; esac
e2e_require_root

# Sends TERM to pid $1 ($2 names it), waits up to 15 s, then KILL.
stop_pid() {
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  e2e_log "stopping $2 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  e2e_log "$2 (pid $pid) ignored TERM: KILL"
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}

# Pids of processes that belong to this harness although no pid file names
# them: the managed containerd and shims (their executables are ours), and a
# registry serving our config.
stray_pids() {
  local proc pid exe
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    exe=$(readlink "$proc/exe" 2>/dev/null) || continue
    case "$exe" in
      "$E2E_ROOT"/*) echo "$pid" ;;
      */docker-registry)
        tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -qF "$E2E_DIR/registry.yml" && echo "$pid" ;;
    esac
  done
}

for name in dockerd registry; do
  pidfile=$E2E_RUN/$name.pid
  [ -s "$pidfile" ] && stop_pid "$(cat "$pidfile")" "$name"
  rm -f "$pidfile"
done
for pid in $(stray_pids); do stop_pid "$pid" "$(readlink "/proc/$pid/exe" 2>/dev/null || echo process)"; done
rm -f "$E2E_RUN/docker.sock"

# dockerd bind-mounts its data root onto itself and, when killed, can leave
# overlay and shm mounts behind: unmount deepest first.
findmnt -rn -o TARGET | grep -F "$E2E_DIR/" | sort -r | while read -r target; do
  e2e_log "unmounting $target"
  umount "$target" 2>/dev/null || umount -l "$target"
done

if ip link show "$E2E_BRIDGE" >/dev/null 2>&1; then
  e2e_log "deleting bridge $E2E_BRIDGE"
  ip link del "$E2E_BRIDGE"
fi

case "$mode" in
  --purge)
    e2e_log "dropping state under $E2E_DIR (downloads kept)"
    rm -rf "$E2E_STATE" "$E2E_EXEC" "$E2E_RUN" "$E2E_LOG" "$E2E_DIR/smoke" ;;
  --purge-all)
    e2e_log "removing $E2E_DIR"
    rm -rf "$E2E_DIR" ;;
esac

left=$(stray_pids | wc -l)
mounts=$(findmnt -rn -o TARGET | grep -cF "$E2E_DIR/")
[ "$left" = 0 ] && [ "$mounts" = 0 ] || e2e_die "left behind: $left processes, $mounts mounts under $E2E_DIR"
e2e_log "stopped"
