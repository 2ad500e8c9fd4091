#!/usr/bin/env bash
# The kernel matrix: runs every shipped profile on Debian's own kernels, each
# booted under qemu (software emulation is enough), and prints which profile
# passed, was refused (droplab named the kernel feature it lacks) or failed.
#
#   scripts/kernel-matrix.sh [--kernels 6.1,6.12,host] [--profiles a,b,...]
#                            [--json FILE] [--timeout MIN] [--logs DIR]
#
# Each VM is a closed box: no network device; droplab's traffic stays in the
# guest's own namespaces, as on a host. Kernels are Debian's
# linux-image-*-cloud-amd64-unsigned packages (apt-get download, dpkg -x; never
# installed), cached in /var/cache/droplab/kernels. Needs root (debootstrap,
# and `host` runs droplab here).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/kernel-matrix.sh [options]
  --kernels LIST    comma-separated: 6.1 (newest linux-image-6.1.0-N-cloud-amd64-unsigned),
                    6.12 (newest linux-image-6.12.N+deb12-cloud-amd64-unsigned), a full
                    package name, or host (this machine's kernel, no VM). Default: 6.1,6.12
  --profiles LIST   comma-separated profile names (profiles/NAME.json). Default: all
  --json FILE       write {"kernels": [{"package", "release", "profiles": [...]}]} to FILE
  --timeout MIN     stop a kernel's VM after MIN minutes (default 40); its unfinished
                    profiles fail with that reason
  --cpus N          vCPUs per VM (default 2: backlog and flow-limit need two CPUs)
  --scale F         in the VMs, multiply packet rates by F (default 0.1: qemu emulates
                    the CPU in software) and durations by --stretch S (default 5);
                    expectations unchanged
  --logs DIR        keep each kernel's console, droplab output and reports in DIR
  --build DIR       where droplab was built (default: build); its bin/ is used
  --deb FILE        install this droplab .deb in the VMs' root instead of building one
                    with scripts/package.sh (needs scripts/rootfs.sh)
Exit: 0 every profile passed or was refused, 1 one failed, 2 bad usage.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MATRIX_DIR=$REPO/scripts/matrix
CACHE=${DROPLAB_CACHE:-/var/cache/droplab}
KCACHE=$CACHE/kernels
RCACHE=$CACHE/rootfs
# shellcheck source=matrix/kernels.sh
. "$MATRIX_DIR/kernels.sh"
# shellcheck source=matrix/root.sh
. "$MATRIX_DIR/root.sh"

kernels=6.1,6.12
profiles=
json_out=
timeout_min=40
cpus=2
scale=0.1
stretch=5
logs=
BUILD=$REPO/build
DEB=
bad() { echo "kernel-matrix: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    --kernels) kernels=${2:?}; shift 2 ;;
    --profiles) profiles=${2:?}; shift 2 ;;
    --json) json_out=${2:?}; shift 2 ;;
    --timeout) timeout_min=${2:?}; shift 2 ;;
    --cpus) cpus=${2:?}; shift 2 ;;
    --scale) scale=${2:?}; shift 2 ;;
    --stretch) stretch=${2:?}; shift 2 ;;
    --logs) logs=${2:?}; shift 2 ;;
    --build) BUILD=$(cd "${2:?}" && pwd); shift 2 ;;
    --deb) DEB=$(readlink -f "${2:?}"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; bad "unknown argument \"$1\"" ;;
  esac
done
[[ $timeout_min =~ ^[0-9]+$ && $timeout_min -ge 1 ]] || bad "--timeout \"$timeout_min\": minutes, at least 1"
[[ $cpus =~ ^[0-9]+$ && $cpus -ge 1 && $cpus -le 8 ]] || bad "--cpus \"$cpus\": 1..8"
[[ $scale =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] && awk "BEGIN{exit !($scale > 0)}" ||
  bad "--scale \"$scale\": a factor in (0, 1]"
[[ $stretch =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk "BEGIN{exit !($stretch >= 1 && $stretch <= 20)}" ||
  bad "--stretch \"$stretch\": a factor in [1, 20]"
if [[ -z $profiles ]]; then
  profiles=$(cd "$REPO/profiles" && ls ./*.json | sed 's|^\./||; s|\.json$||' | paste -sd, -)
fi
IFS=, read -r -a profile_list <<<"$profiles"
for p in "${profile_list[@]}"; do
  [[ -f $REPO/profiles/$p.json ]] || bad "--profiles: no profile \"$p\" (profiles/$p.json; known: $(cd "$REPO/profiles" && ls | sed 's/\.json$//' | paste -sd' ' -))"
done
[[ -z $DEB || -f $DEB ]] || bad "--deb: $DEB: no such file"
[[ -z $DEB || -x $REPO/scripts/rootfs.sh ]] || bad "--deb needs scripts/rootfs.sh, which this checkout lacks"
IFS=, read -r -a kernel_list <<<"$kernels"
((${#kernel_list[@]})) || bad "--kernels: empty"

[[ $(id -u) -eq 0 ]] || { echo "kernel-matrix: needs root (debootstrap, droplab run)" >&2; exit 1; }
for c in qemu-system-x86_64 busybox mkfs.ext4 depmod modprobe jq xz debootstrap apt-get dpkg; do
  command -v "$c" >/dev/null || { echo "kernel-matrix: $c not found (scripts/deps.sh --test installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/kernel-matrix.XXXXXX)
QEMU_PID=
cleanup() {
  [[ -n $QEMU_PID ]] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The profiles as the VMs run them: packet rates (gen.rate, sink.read_rate, a
# tbf qdisc's rate) times $scale, so every ratio a profile is built on holds,
# and gen.duration times $stretch, so a profile measured against an absolute
# limit still sends enough (udp-mem: the queue must outgrow udp_mem's 512
# pages: it needs about 4,500 packets queued). Not the full 1/scale: the longer a run, the
# likelier a busy host deschedules the guest's reader long enough to drop. The
# expectation is unchanged.
scale_profile() {
  jq --argjson f "$scale" --argjson g "$stretch" '
    def num: (. * 1e6 | round) / 1e6 | if . == floor then floor else . end | tostring;
    def by($x): capture("^(?<n>[0-9.]+)(?<u>.*)$") as $m | (($m.n | tonumber) * $x | num) + $m.u;
    (if .gen.rate? then .gen.rate |= by($f) else . end)
    | (if .gen.duration? then .gen.duration |= by($g) else . end)
    | (if .sink.read_rate? then .sink.read_rate |= by($f) else . end)
    | (if .settings.tx_qdisc? then .settings.tx_qdisc |=
         sub("rate (?<r>[0-9.]+[a-z]+)"; "rate " + (.r | by($f))) else . end)' "$1"
}

# One profile's outcome from what the guest (or the host) left in OUT.
# Prints a JSON object {name, result, reason, unexplained, drop_reasons_mode}.
profile_result() {
  local out=$1 name=$2 rc reason
  rc=$(cat "$out/$name.rc" 2>/dev/null || echo none)
  reason=$(grep -v '^\s*$' "$out/$name.log" 2>/dev/null | tail -n 1 || true)
  # droplab's refusal: "...: this kernel (R) cannot run this profile (...):" then one
  # indented line per unmet need; those lines are the reason.
  local refusal
  refusal=$(sed -n '/cannot run this profile/,$p' "$out/$name.log" 2>/dev/null | tail -n +2 |
    sed 's/^ *//' | grep -v '^$' | paste -sd';' - | sed 's/;/; /g' || true)
  local report=$out/$name.json
  [[ -s $report ]] || report=/dev/null # jq then reads no input: null
  jq -n --arg name "$name" --arg rc "$rc" --arg reason "$reason" --arg refusal "$refusal" \
    --arg secs "$(cat "$out/$name.seconds" 2>/dev/null || echo '?')" '
    (try input catch null) as $r
    | def res($x; $why): {name: $name, result: $x, reason: $why,
        unexplained: ($r.accounting.unexplained? // null),
        drop_reasons_mode: ($r.drop_reasons.mode? // null), seconds: ($secs | tonumber? // null)};
    if $rc == "0" then res("passed"; null)
    elif $rc == "2" and $refusal != "" then res("refused"; $refusal)
    elif $rc == "2" and ($reason | test("kernel"; "i")) then res("refused"; $reason)
    elif $rc == "2" then res("failed"; "exit 2 (bad input, not a kernel refusal): " + $reason)
    elif $rc == "3" then res("failed"; "expectation failed: " + (($r.expect.reasons? // [$reason]) | join("; ")))
    elif $rc == "124" or $rc == "137" then res("failed"; "timed out in the VM")
    elif $rc == "none" then res("failed"; "did not run: the VM stopped first (see its console log)")
    else res("failed"; "exit " + $rc + ": " + $reason) end' "$report"
}

# Runs the job on this machine's kernel directly (no VM); fills OUT like a guest.
run_host() {
  local out=$1 name
  mkdir -p "$out"
  uname -r >"$out/release"
  for name in "${profile_list[@]}"; do
    local start=$SECONDS
    set +e
    timeout -k 10 300 "$BUILD/bin/droplab" run "$REPO/profiles/$name.json" --json "$out/$name.json" --quiet \
      >"$out/$name.log" 2>&1
    echo $? >"$out/$name.rc"
    set -e
    echo $((SECONDS - start)) >"$out/$name.seconds"
    echo "kernel-matrix: host $name exit $(cat "$out/$name.rc") in $(cat "$out/$name.seconds") s" >&2
  done
}

# Boots kernel package directory KDIR with the job, waits (bounded), unpacks
# the guest's results into OUT.
run_vm() {
  local kdir=$1 out=$2 job=$WORK/job name
  rm -rf "$job" && mkdir -p "$job/profiles" "$out"
  cp "$MATRIX_DIR/guest-run.sh" "$job/"
  for name in "${profile_list[@]}"; do scale_profile "$REPO/profiles/$name.json" >"$job/profiles/$name.json"; done
  printf 'PROFILES="%s"\nRUN_TIMEOUT=%s\n' "${profile_list[*]}" 600 >"$job/config"
  [[ -n $DROPLAB_IMG ]] && touch "$job/droplab-disk"
  local img=$WORK/job.img
  tar -cf "$img" -C "$job" .
  truncate -s 64M "$img"
  local disks=(
    -drive "file=$ROOT_IMG,format=raw,if=none,id=root,snapshot=on" -device virtio-blk-pci,drive=root,serial=root
    -drive "file=$(kernel_modules_img "$kdir"),format=raw,if=none,id=modules,readonly=on"
    -device virtio-blk-pci,drive=modules,serial=modules
    -drive "file=$img,format=raw,if=none,id=job" -device virtio-blk-pci,drive=job,serial=job
  )
  [[ -n $DROPLAB_IMG ]] && disks+=(-drive "file=$DROPLAB_IMG,format=raw,if=none,id=droplab,readonly=on"
    -device virtio-blk-pci,drive=droplab,serial=droplab)
  local start=$SECONDS
  timeout -k 10 $((timeout_min * 60)) qemu-system-x86_64 -nodefaults -no-user-config -display none \
    -accel tcg,thread=multi -cpu max -smp "$cpus" -m 2048 -nic none -no-reboot \
    -kernel "$(kernel_vmlinuz "$kdir")" -initrd "$(kernel_initrd "$kdir")" \
    -append "console=ttyS0 panic=-1 loglevel=4" -serial "file:$out/console.log" "${disks[@]}" &
  QEMU_PID=$!
  local rc=0
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=
  echo "kernel-matrix: VM ran $((SECONDS - start)) s (qemu exit $rc)" >&2
  ((rc == 124)) && echo "kernel-matrix: VM stopped after --timeout $timeout_min min" >&2
  tar -xf "$img" -C "$out" 2>/dev/null || echo "kernel-matrix: no results on the job disk" >&2
  grep '^matrix: ' "$out/console.log" >&2 || true
}

prepare_root
echo "kernel-matrix: root: $ROOT_KIND" >&2
results=()
for k in "${kernel_list[@]}"; do
  out=$WORK/out/$k
  if [[ $k == host ]]; then
    pkg="host ($(uname -r), no VM)"
    run_host "$out"
  else
    pkg=$(kernel_package "$k") || exit $?
    kdir=$(kernel_unpack "$pkg")
    echo "kernel-matrix: $pkg ($(kernel_release "$kdir")): booting" >&2
    run_vm "$kdir" "$out"
  fi
  release=$(cat "$out/release" 2>/dev/null || echo unknown)
  entries=()
  for name in "${profile_list[@]}"; do entries+=("$(profile_result "$out" "$name")"); done
  results+=("$(printf '%s\n' "${entries[@]}" | jq -s --arg p "$pkg" --arg r "$release" \
    --arg s "$([[ $k == host ]] && echo 1 || echo "$scale")" --arg d "$([[ $k == host ]] && echo 1 || echo "$stretch")" \
    '{package: $p, release: $r, rate_scale: ($s | tonumber), duration_scale: ($d | tonumber), profiles: .}')")
  [[ -n $logs ]] && mkdir -p "$logs" && cp -r "$out" "$logs/$k"
done

doc=$(printf '%s\n' "${results[@]}" | jq -s '{kernels: .}')
[[ -n $json_out ]] && printf '%s\n' "$doc" >"$json_out"
jq -r -f "$MATRIX_DIR/table.jq" <<<"$doc"
[[ $(jq '[.kernels[].profiles[] | select(.result == "failed")] | length' <<<"$doc") -eq 0 ]]
