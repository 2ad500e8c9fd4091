#!/usr/bin/env bash
# Cost of droplab's own measurement, in one run (issue 5's benchmark):
#  1. generator pps at 64 B with and without the drop-reason BPF program attached,
#     every packet dropped (NO_SOCKET), so the program runs once per packet: the
#     worst case; interleaved rounds, medians, ratio;
#  2. the harness's own CPU (user + system, children excluded) while it samples
#     every counter every 100 ms, as a share of one core;
#  3. the program's own run time per event (kernel.bpf_stats_enabled, restored on
#     exit): run_time_ns / run_cnt of the kfree_skb program near the end of a
#     flood run, and its share of the generator's time per packet (1 / pps). On a
#     busy machine part 1 is noise-bound; part 3 is not. OLD=path/to/droplab adds
#     the same figures for another build, in alternating rounds.
# Usage: bench/dropreason_bench.sh [BUILD_DIR]   (root; appends to bench/results/dropreason.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
DROPLAB="$BUILD/bin/droplab"
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
[[ -x $DROPLAB ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }

work=$(mktemp -d)
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'echo "$stats_was" >/proc/sys/kernel/bpf_stats_enabled; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cat > "$work/flood.json" <<'JSON'
{
  "name": "bench-flood-no-socket",
  "description": "Unpaced 64-byte datagrams to a port with no listener: every packet is dropped (NO_SOCKET), so kfree_skb fires once per packet.",
  "gen": {"rate": "max", "duration": "2s", "size": 64, "batch": 64, "port": 9001},
  "sink": {"port": 9000},
  "settings": {"rx_sysctls": {"net.ipv4.icmp_ratelimit": "100000"}}
}
JSON

declare -a with without cpu whole
for ((i = 1; i <= ROUNDS; i++)); do
  "$DROPLAB" run "$work/flood.json" --quiet --json "$work/with.json" >/dev/null
  "$DROPLAB" run "$work/flood.json" --quiet --no-drop-reasons --json "$work/without.json" >/dev/null
  [[ $(jq -r .drop_reasons.mode "$work/with.json") == bpf ]] || { echo "BPF not attached: $(jq -r .drop_reasons.mode_reason "$work/with.json")" >&2; exit 1; }
  with+=("$(jq -r .gen.summary.achieved_pps "$work/with.json")")
  without+=("$(jq -r .gen.summary.achieved_pps "$work/without.json")")
  cpu+=("$(jq -r .context.harness.sampling_cpu_percent "$work/with.json")")
  whole+=("$(jq -r .context.harness.cpu_percent "$work/with.json")")
  echo "round $i: with BPF ${with[-1]} pps, without ${without[-1]} pps, harness CPU while sampling ${cpu[-1]} %"
done

# Part 3: ns per kfree_skb event of the program, read with bpftool while the flood runs.
echo 1 >/proc/sys/kernel/bpf_stats_enabled
prog_ns() { # droplab binary -> "ns_per_event events gen_pps"
  "$1" run "$work/flood.json" --quiet --json "$work/stats.json" >/dev/null &
  local pid=$! line=""
  for _ in $(seq 60); do
    sleep 0.1
    line=$(bpftool prog show -j 2>/dev/null | jq -r '[.[] | select(.name | startswith("droplab_kfree")) | select(.run_cnt != null)] | .[0] | "\(.run_time_ns) \(.run_cnt)"' 2>/dev/null || true)
    [[ $line != "null null" && -n $line ]] && [[ ${line#* } -gt 100000 ]] && break
  done
  sleep 1 # a second of steady flood
  line=$(bpftool prog show -j 2>/dev/null | jq -r '[.[] | select(.name | startswith("droplab_kfree")) | select(.run_cnt != null)] | .[0] | "\(.run_time_ns) \(.run_cnt)"')
  wait "$pid"
  awk -v l="$line" -v p="$(jq -r .gen.summary.achieved_pps "$work/stats.json")" 'BEGIN { split(l, a, " "); printf "%.1f %d %.0f\n", a[1] / a[2], a[2], p }'
}
declare -a nsnew nsold
for ((i = 1; i <= ROUNDS; i++)); do
  nsnew+=("$(prog_ns "$DROPLAB")")
  echo "round $i: this build: ${nsnew[-1]} (ns/event, events, gen pps)"
  if [[ -n ${OLD:-} ]]; then
    nsold+=("$(prog_ns "$OLD")")
    echo "round $i: OLD build:  ${nsold[-1]}"
  fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mw=$(median "${with[@]}"); mo=$(median "${without[@]}"); mc=$(median "${cpu[@]}"); mwh=$(median "${whole[@]}")
cost=$(awk -v w="$mw" -v o="$mo" 'BEGIN {printf "%.2f", 100 * (o - w) / o}')

{
  echo "## Drop-reason program and sampling cost, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(uname -r), $(nproc) CPUs, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- command: \`ROUNDS=$ROUNDS bench/dropreason_bench.sh $BUILD\`"
  echo "- traffic: droplab-gen unpaced, 64 B frames, 2 s, to a port with no listener (every packet a NO_SOCKET drop); rounds interleaved with and without the BPF program"
  echo
  echo "| | median | per round |"
  echo "|---|---|---|"
  echo "| generator pps, BPF drop reasons attached | $(printf '%.0f' "$mw") | ${with[*]} |"
  echo "| generator pps, no drop reasons | $(printf '%.0f' "$mo") | ${without[*]} |"
  echo "| cost of the BPF program | ${cost} % (target <= 3 %) | |"
  echo "| harness CPU while sampling every 100 ms (generator running), % of one core | ${mc} (target <= 1 %) | ${cpu[*]} |"
  echo "| harness CPU over the whole run (lab setup, BPF load, kallsyms, teardown included) | ${mwh} | ${whole[*]} |"
  # Rounds where bpftool saw no events (the program not yet attached when read) are left out.
  nn=$(printf '%s\n' "${nsnew[@]}" | awk '$2 > 0 {print $1}' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  echo "| program run time per kfree_skb event, this build (bpf_stats) | ${nn} ns = $(awk -v n="$nn" -v p="$mo" 'BEGIN {printf "%.2f", 100 * n * p / 1e9}') % of a packet's time at the no-BPF median pps | $(printf '%s; ' "${nsnew[@]}") |"
  if ((${#nsold[@]})); then
    no=$(printf '%s\n' "${nsold[@]}" | awk '$2 > 0 {print $1}' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    echo "| same, OLD=$OLD | ${no} ns = $(awk -v n="$no" -v p="$mo" 'BEGIN {printf "%.2f", 100 * n * p / 1e9}') % | $(printf '%s; ' "${nsold[@]}") |"
  fi
  echo
} | tee -a bench/results/dropreason.md
