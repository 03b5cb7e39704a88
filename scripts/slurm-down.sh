#!/usr/bin/env bash
# Stops the one-node cluster of scripts/slurm-up.sh (slurmd, slurmctld; munged with --munge).
# Jobs still queued or running are cancelled first. Rerunning while it is down does nothing.
set -uo pipefail
RUN=${SLURM_RUN_DIR:-/run/slurm}
stop() {
  local pidfile=$1 name=$2
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "slurm-down: $name ($pid) did not stop" >&2; return 1; }
    echo "slurm-down: stopped $name ($pid)"
  fi
  rm -f "$pidfile"
}
command -v scancel >/dev/null && scancel --full --user="$(id -un)" 2>/dev/null
stop "$RUN/slurmd.pid" slurmd
stop "$RUN/slurmctld.pid" slurmctld
if [ "${1:-}" = "--munge" ]; then
  pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && echo "slurm-down: stopped munged ($pid)"
fi
exit 0
