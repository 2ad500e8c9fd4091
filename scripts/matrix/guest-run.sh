#!/bin/sh
# Runs inside a kernel matrix VM as PID 1, on the Debian root, after the
# initramfs (scripts/matrix/initramfs-init) mounted the disks: sets up what a
# booted Debian would have mounted, runs each profile of the job with
# `droplab run --json`, writes the results back onto the job disk as a tar
# archive and powers off. The host bounds all of this with its own timeout.
export PATH=/opt/droplab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
. /matrix/config

off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 10
  echo b >/proc/sysrq-trigger
}
trap off EXIT

# What systemd mounts on a Debian 12 host; droplab probes each itself.
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
mkdir -p /run/netns /run/lock
mount -t tmpfs -o mode=0755 varrun /var/tmp
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ip link set lo up
hostname matrix

out=/matrix/out
mkdir -p "$out"
uname -r >"$out/release"
nproc >"$out/cpus"
command -v droplab >"$out/droplab-path" 2>&1
droplab --version >"$out/droplab-version" 2>&1
# What this kernel offers droplab, as droplab doctor probes it (kept with --logs).
droplab doctor --json >"$out/doctor.json" 2>"$out/doctor.err" || true

for name in $PROFILES; do
  start=$(date +%s)
  timeout -k 10 "$RUN_TIMEOUT" droplab run "/matrix/profiles/$name.json" --json "$out/$name.json" --quiet \
    >"$out/$name.log" 2>&1
  echo $? >"$out/$name.rc"
  echo $(($(date +%s) - start)) >"$out/$name.seconds"
  echo "matrix: $name exit $(cat "$out/$name.rc") in $(cat "$out/$name.seconds") s" >/dev/console
done

dmesg >"$out/dmesg" 2>&1
# The results go back over the job disk itself: a tar archive from sector 0.
tar -cf "$(cat /matrix/job.dev)" -C "$out" . && echo "matrix: results written" >/dev/console
