#!/usr/bin/env bash
# Start a real one-node SLURM cluster on this machine (munge + slurmctld + slurmd), for the tests
# and for a developer trying `grid --executor slurm` by hand. Idempotent: when the controller
# answers and the node is usable it changes nothing.
#
#   sudo tests/slurm/start_cluster.sh          # or as root in CI
#
# What it does, in order:
#   1. installs Debian's slurmctld slurmd slurm-client munge with apt-get when they are missing;
#   2. writes /etc/slurm/slurm.conf for `hostname -s` (CPUs from nproc, RealMemory from
#      /proc/meminfo, MaxArraySize, requeue allowed, short KillWait so cancelled test jobs end fast);
#   3. starts munged, slurmctld and slurmd (logs in /var/log/slurm/);
#   4. waits until `sinfo` shows the node idle (or mixed/allocated: it is running jobs).
# On stdout it prints one line `started DAEMON` per daemon it started (munged, slurmctld, slurmd), so that
# whoever ran it can stop exactly those afterwards (tests/slurm_daemons.py; the test session does, at its end).
# The cluster keeps its state and spool in folders of its own (/var/spool/kdgan/...): a one-node
# SLURM that ran here before under another ClusterName left its name in /var/spool/slurmctld, and
# slurmctld refuses to start on that folder ("CLUSTER NAME MISMATCH"). A controller that answers
# under another ClusterName is not taken for this one.
#
#   tests/slurm/start_cluster.sh --print-config   # print the slurm.conf it would write, change nothing
#
# Environment: SLURM_MAX_ARRAY_SIZE (default 1001, SLURM's own default), START_TIMEOUT_S (60).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
NODE="$(hostname -s)"
MAX_ARRAY_SIZE="${SLURM_MAX_ARRAY_SIZE:-1001}"
TIMEOUT_S="${START_TIMEOUT_S:-60}"
CLUSTER_NAME=kdgan
SPOOL_ROOT=/var/spool/$CLUSTER_NAME
STATE_DIR=$SPOOL_ROOT/slurmctld
SLURMD_DIR=$SPOOL_ROOT/slurmd

log() { echo "[start_cluster] $*" >&2; }
die() { log "error: $*"; exit 1; }

node_state() { sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null | head -n1 | tr -d '*~#!%$@^-' || true; }
usable() { [[ "$(node_state)" =~ ^(idle|mix|alloc|comp)$ ]]; }
ours() { [[ "$(scontrol show config 2>/dev/null | awk '$1 == "ClusterName" {print $3}')" == "$CLUSTER_NAME" ]]; }

write_config() {  # this cluster's slurm.conf, on stdout
    local cpus mem_mb
    cpus="$(nproc)"
    mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512 ))   # leave a little for the daemons
    cat <<EOF
# Written by tests/slurm/start_cluster.sh: a one-node cluster on $NODE.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SLURMD_DIR
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$(( mem_mb / cpus ))
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
MaxArraySize=$MAX_ARRAY_SIZE
MaxJobCount=20000
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

if [[ "${1:-}" == "--print-config" ]]; then
    write_config
    exit 0
fi

if command -v sbatch >/dev/null && scontrol ping 2>/dev/null | grep -q "is UP" && ours && usable; then
    log "SLURM is already up: node $NODE is $(node_state)"
    exit 0
fi

[[ "$(id -u)" == 0 ]] || die "must run as root (it installs packages, writes $CONF and starts daemons)"

missing=()
for cmd in slurmctld slurmd sbatch munged; do
    command -v "$cmd" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
    log "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi
export PATH="$PATH:/usr/sbin"

mkdir -p "$CONF_DIR" "$STATE_DIR" "$SLURMD_DIR" /var/log/slurm /run/munge
write_config >"$CONF.new"
if ! cmp -s "$CONF.new" "$CONF"; then
    mv "$CONF.new" "$CONF"
    log "wrote $CONF (state and spool under $SPOOL_ROOT, MaxArraySize=$MAX_ARRAY_SIZE)"
    restart=1
else
    rm "$CONF.new"
    restart=0
fi
if scontrol ping 2>/dev/null | grep -q "is UP" && ! ours; then
    log "the controller that answers is another cluster's: restarting the daemons with $CONF"
    restart=1
fi

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    chown munge:munge /run/munge 2>/dev/null || true
    runuser -u munge -- munged --force 2>/dev/null || munged --force
    echo "started munged"
fi

running() { pgrep -x "$1" >/dev/null; }
if ((restart)); then
    for daemon in slurmd slurmctld; do
        if running "$daemon"; then
            log "stopping $daemon (configuration changed)"
            kill "$(cat "/run/$daemon.pid")" 2>/dev/null || true   # its own pid file, never by name
            for _ in $(seq 50); do running "$daemon" || break; sleep 0.2; done
        fi
    done
fi
running slurmctld || { log "starting slurmctld"; slurmctld; echo "started slurmctld"; }
running slurmd || { log "starting slurmd"; slurmd; echo "started slurmd"; }

deadline=$(( $(date +%s) + TIMEOUT_S ))
until scontrol ping 2>/dev/null | grep -q "is UP" && usable; do
    state="$(node_state)"
    if [[ "$state" =~ ^(down|drain|drng|fail)$ ]]; then
        scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
    fi
    if (( $(date +%s) > deadline )); then
        log "node state: ${state:-unknown}; last lines of the logs:"
        tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
        die "SLURM did not come up within ${TIMEOUT_S}s"
    fi
    sleep 1
done
log "SLURM is up: node $NODE is $(node_state), $(sinfo --noheader --format='%c CPUs, %m MB')"
