#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, without systemd (CI and local testing; docs/slurm.md).
# As root: creates the munge key if missing and starts munged, writes /etc/slurm/slurm.conf from
# `slurmd -C` (proctrack/linuxproc, task/none, no accounting, root as SlurmUser, cons_tres with
# CR_Core so tasks share the node's cores), starts slurmctld and slurmd as daemons and waits until
# `sinfo` shows the node idle. Rerunning while the cluster is up does nothing.
# Needs Debian's slurm-wlm and munge (`.ci/run` installs them). Stop it with scripts/slurm-down.sh.
set -euo pipefail

CONF_DIR=${SLURM_CONF_DIR:-/etc/slurm}
CONF=$CONF_DIR/slurm.conf
STATE=${SLURM_STATE_DIR:-/var/spool/slurm}
LOGS=${SLURM_LOG_DIR:-/var/log/slurm}
RUN=${SLURM_RUN_DIR:-/run/slurm}
TIMEOUT_S=${SLURM_UP_TIMEOUT_S:-60}

die() { echo "slurm-up: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
for p in munged slurmctld slurmd sinfo sbatch; do
  command -v "$p" >/dev/null || die "$p not found: install Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)"
done

node_state() { sinfo -h -N -o '%t' 2>/dev/null | head -1 | tr -d '*~#!%$@^-'; }
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Already up: nothing to do.
if running "$RUN/slurmctld.pid" && running "$RUN/slurmd.pid"; then
  case "$(node_state)" in idle|mix|mixed|alloc|allocated|comp|completing|plnd|planned)
    echo "slurm-up: already up ($(sinfo -h -N -o '%N %t'))"; exit 0 ;;
  esac
fi

# munge: the key (only if missing), then the daemon as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
  else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
fi
chown munge:munge /etc/munge /etc/munge/munge.key 2>/dev/null || true
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if id munge >/dev/null 2>&1; then runuser -u munge -- munged; else munged --force; fi
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# slurm.conf from what slurmd sees of this machine (kept if the daemons are up with it already).
mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$LOGS" "$RUN"
node_line=$(slurmd -C | head -1)
node_name=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' <<<"$node_line")
[ -n "$node_name" ] || die "slurmd -C printed no NodeName line: $node_line"
cat > "$CONF.new" <<CONF
# Written by atomgp scripts/slurm-up.sh: a one-node cluster (docs/slurm.md).
ClusterName=atomgp
SlurmctldHost=$node_name
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
# No cgroups (containers, no systemd): processes tracked by parent id, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
# Start batch jobs at once (Slurm may otherwise delay them up to 3 s, each time an array element ends).
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Finished jobs stay visible to scontrol for a minute; quick node checks for a small cluster.
MinJobAge=60
SlurmdTimeout=60
$node_line State=UNKNOWN
PartitionName=main Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
CONF
# slurmd -C may print UpTime on its first line in some versions: keep only the node's hardware.
sed -i -e '/^NodeName=/s/ UpTime=[^ ]*//' "$CONF.new"
mv "$CONF.new" "$CONF"

# The daemons (they fork into the background; their pid files are in $RUN).
if ! running "$RUN/slurmctld.pid"; then slurmctld -c 2>>"$LOGS/slurmctld.start.log" || die "slurmctld did not start (see $LOGS/slurmctld.log)"; fi
if ! running "$RUN/slurmd.pid"; then slurmd 2>>"$LOGS/slurmd.start.log" || die "slurmd did not start (see $LOGS/slurmd.log)"; fi

# Wait for the node to be idle; a node left down/drained from an earlier run is resumed.
deadline=$(( $(date +%s) + TIMEOUT_S ))
while :; do
  st=$(node_state)
  case "$st" in
    idle|mix|mixed|alloc|allocated|comp|completing|plnd|planned) break ;;
    down|drain|drng|drained|fail) scontrol update nodename="$node_name" state=resume >/dev/null 2>&1 || true ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "slurm-up: node $node_name is not idle after ${TIMEOUT_S} s (state '${st:-unknown}'); last log lines:" >&2
    tail -n 5 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.5
done
echo "slurm-up: up ($(sinfo -h -N -o '%N %t, %c CPUs, partition %P'))"
