#!/usr/bin/env bash
# Cost of droplab's own measurement, in one run (issue 5's benchmark):
#  1. generator pps at 64 B with and without the drop-reason BPF program attached,
#     every packet dropped (NO_SOCKET), so the program runs once per packet: the
#     worst case; interleaved rounds, medians, ratio;
#  2. the harness's own CPU (user + system, children excluded) while it samples
#     every counter every 100 ms, as a share of one core.
# Usage: bench/dropreason_bench.sh [BUILD_DIR]   (root; appends to bench/results/dropreason.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
DROPLAB="$BUILD/bin/droplab"
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
[[ -x $DROPLAB ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
  echo
} | tee -a bench/results/dropreason.md
