#!/usr/bin/env bash
# droplab-gen against trafgen and iperf3 on a two-namespace veth lab.
#
#   bench/gen_bench.sh [BUILD_DIR]      (default: build-gen; run as root)
#   env: ROUNDS (3) interleaved rounds, RUN_S (4) seconds per run,
#        OUT (bench/results/gen.md), PERF=1 adds a perf profile of af_packet.
#        MODE=xdp: the sender alone (see bench/gen_bench_xdp.sh, sourced
#        after the lab is up; OUT defaults to bench/results/gen_xdp.md).
#
# Part 1, throughput: 64-byte frames, receiver with no listener (NO_SOCKET
# drop, except iperf3 which needs its server), rate = rx_packets delta of the
# receiving veth over a 2 s window inside each run (not the sender's claim).
# Part 2, rate accuracy at 10k/100k/500k pps: an AF_PACKET RX ring in the
# receiving namespace timestamps every frame; achieved/requested and the
# per-ms coefficient of variation over the run minus 300 ms at each end.
#
# Traffic rules: only inside the two namespaces created here (names carry the
# pid), only to 198.18.200.0/30, every sender under `timeout`; the trap
# deletes the namespaces and kills what was started on every exit path.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-gen}
GEN=$BUILD/bin/droplab-gen
ROUNDS=${ROUNDS:-3}
RUN_S=${RUN_S:-4}
MODE=${MODE:-e2e}
if [[ $MODE == xdp ]]; then OUT=${OUT:-$ROOT/bench/results/gen_xdp.md}; fi
OUT=${OUT:-$ROOT/bench/results/gen.md}
PERF=${PERF:-0}

[[ $(id -u) == 0 ]] || { echo "gen_bench.sh: needs root (ip netns)" >&2; exit 2; }
[[ -x $GEN ]] || { echo "gen_bench.sh: $GEN not built (cmake --build $BUILD)" >&2; exit 2; }

# Peers and tools from Debian, installed only when missing.
need_pkgs=()
command -v trafgen >/dev/null || need_pkgs+=(netsniff-ng)
command -v iperf3 >/dev/null || need_pkgs+=(iperf3)
[[ $PERF == 1 ]] && ! command -v perf >/dev/null && need_pkgs+=(linux-perf)
if ((${#need_pkgs[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}" >/dev/null; }
fi

TX=dlgenb$$tx
RX=dlgenb$$rx
VA=dlgb$$x
VB=dlgb$$y
TX_MAC=02:00:5e:00:c8:01
RX_MAC=02:00:5e:00:c8:02
TX_IP=198.18.200.1
RX_IP=198.18.200.2
WORK=$(mktemp -d /tmp/dlgb.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$TX" 2>/dev/null || true
  ip netns del "$RX" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$TX"
ip netns add "$RX"
ip link add "$VA" netns "$TX" address "$TX_MAC" type veth peer name "$VB" netns "$RX" address "$RX_MAC"
ip -n "$TX" addr add "$TX_IP/30" dev "$VA"
ip -n "$RX" addr add "$RX_IP/30" dev "$VB"
for ns in "$TX" "$RX"; do ip -n "$ns" link set lo up; done
ip -n "$TX" link set "$VA" up
ip -n "$RX" link set "$VB" up
ip -n "$TX" neigh add "$RX_IP" lladdr "$RX_MAC" dev "$VA" nud permanent

# The helper that timestamps frames at the receiver.
MSC=$WORK/gen_ms_counter
g++ -O2 -std=c++20 -o "$MSC" "$ROOT/bench/gen_ms_counter.cpp"

# trafgen's packet: the same 60-byte Ethernet/IPv4/UDP frame (valid checksums,
# 18 zero bytes of payload) that droplab-gen sends at --size 64.
python3 - "$WORK/frame.cfg" <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = bytes([198, 18, 200, 1]), bytes([198, 18, 200, 2])
pl = bytes(18)
ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 46, 0, 0x4000, 64, 17, 0, src, dst))
ip[10:12] = struct.pack('!H', csum(bytes(ip)))
udp = bytearray(struct.pack('!HHHH', 49152, 9000, 26, 0))
udp[6:8] = struct.pack('!H', csum(src + dst + struct.pack('!BBH', 0, 17, 26) + bytes(udp) + pl) or 0xffff)
f = bytes.fromhex('02005e00c802' '02005e00c801') + b'\x08\x00' + bytes(ip) + bytes(udp) + pl
open(sys.argv[1], 'w').write('{ ' + ', '.join('0x%02x' % b for b in f) + ' }\n')
PY


rx_packets() {
  ip netns exec "$RX" cat "/sys/class/net/$VB/statistics/rx_packets" ||
    { echo "gen_bench.sh: lab namespace $RX is gone (deleted by someone else?)" >&2; kill -TERM $$; }
}

# Runs "$@" (a sender, already bounded by timeout) in the background and
# prints the receiver's packets per second over a 2 s window inside the run.
measure_pps() {
  (cd "$WORK" && "$@" >"$WORK/last.log" 2>&1) &
  local pid=$!
  PIDS+=("$pid")
  sleep 1
  local a t0 b t1
  a=$(rx_packets); t0=$(date +%s%N)
  sleep 2
  b=$(rx_packets); t1=$(date +%s%N)
  wait "$pid" || true
  awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f\n", (b - a) * 1e9 / (t1 - t0) }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

DST="$RX_IP:9000"
T=$((RUN_S + 3))
gen_cmd() { # backend threads [extra...]
  local b=$1 t=$2; shift 2
  local cpus=0; [[ $t == 2 ]] && cpus=0,1
  echo ip netns exec "$TX" timeout "$T" "$GEN" --dst "$DST" --backend "$b" --threads "$t" --cpus "$cpus" \
    --flows 8 --size 64 --duration "${RUN_S}s" --quiet "$@"
}
trafgen_cmd() { # cpus [extra...]
  local c=$1; shift
  echo ip netns exec "$TX" timeout -s INT "$RUN_S" trafgen --dev "$VA" --conf "$WORK/frame.cfg" --cpus "$c" "$@"
}
iperf_server() {
  ip netns exec "$RX" timeout $((T + 5)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 50); do ip netns exec "$RX" ss -ltn | grep -q ':5201' && return 0; sleep 0.1; done
  echo "iperf3 server did not start" >&2; return 1
}

if [[ $MODE == xdp ]]; then
  # shellcheck source=bench/gen_bench_xdp.sh
  source "$ROOT/bench/gen_bench_xdp.sh"
  exit 0
fi

declare -A THR=(
  [gen_af_packet_1]="$(gen_cmd af_packet 1 --qdisc-bypass)"
  [gen_af_packet_2]="$(gen_cmd af_packet 2 --qdisc-bypass)"
  [gen_io_uring_1]="$(gen_cmd io_uring 1)"
  [gen_io_uring_2]="$(gen_cmd io_uring 2)"
  [gen_sendmmsg_1]="$(gen_cmd sendmmsg 1)"
  [gen_sendmmsg_2]="$(gen_cmd sendmmsg 2)"
  [trafgen_1]="$(trafgen_cmd 1)"
  [trafgen_2]="$(trafgen_cmd 2)"
  [iperf3_1]="ip netns exec $TX timeout $T iperf3 -c $RX_IP -p 5201 -u -b 0 -l 18 -t $RUN_S"
)
ORDER=(gen_af_packet_1 trafgen_1 gen_io_uring_1 iperf3_1 gen_sendmmsg_1 gen_af_packet_2 trafgen_2 gen_io_uring_2 gen_sendmmsg_2)

mkdir -p "$WORK/res"
echo "throughput: $ROUNDS rounds x ${#ORDER[@]} senders, $RUN_S s each" >&2
for r in $(seq "$ROUNDS"); do
  for k in "${ORDER[@]}"; do
    [[ $k == iperf3_* ]] && iperf_server
    # shellcheck disable=SC2086
    pps=$(measure_pps ${THR[$k]})
    echo "$pps" >>"$WORK/res/$k"
    echo "  round $r  $k  $pps pps" >&2
  done
done
declare -A MED
for k in "${ORDER[@]}"; do MED[$k]=$(median <"$WORK/res/$k"); done

# Rate accuracy and smoothness, at the receiver.
ACC_S=3
accuracy() { # label pps port sender-command...
  local label=$1 want=$2 port=$3; shift 3
  ip netns exec "$RX" timeout $((ACC_S + 8)) "$MSC" "$VB" $((ACC_S + 2)) "$port" 300 >"$WORK/msc.out" 2>&1 &
  local mpid=$!
  PIDS+=("$mpid")
  for _ in $(seq 50); do grep -q ready "$WORK/msc.out" 2>/dev/null && break; sleep 0.1; done
  # SCHED_FIFO for every sender alike: on this shared 2-CPU machine a
  # SCHED_OTHER sender loses its CPU for milliseconds at a time, which
  # measures the machine's load, not the sender's pacing.
  (cd "$WORK" && chrt -f 50 "$@" >"$WORK/last.log" 2>&1) || true
  wait "$mpid" || true
  local line
  line=$(tail -1 "$WORK/msc.out")
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.5f %.4f" % (d["pps"]/float(sys.argv[2]), d["per_ms_cv"]))' "$line" "$want" \
    >>"$WORK/res/acc_${label}_$want"
  echo "  $label $want pps: $(tail -1 "$WORK/res/acc_${label}_$want")  ($line)" >&2
}
RATES=(10000 100000 500000)
echo "accuracy: $ROUNDS rounds x ${#RATES[@]} rates x 3 senders, $ACC_S s each" >&2
for r in $(seq "$ROUNDS"); do
  for want in "${RATES[@]}"; do
    accuracy gen "$want" 9000 ip netns exec "$TX" timeout $((ACC_S + 3)) "$GEN" --dst "$DST" --rate "${want}pps" \
      --size 64 --duration "${ACC_S}s" --quiet
    accuracy trafgen "$want" 9000 ip netns exec "$TX" timeout -s INT "$ACC_S" trafgen --dev "$VA" \
      --conf "$WORK/frame.cfg" --cpus 1 -b "${want}pps"
    iperf_server
    accuracy iperf3 "$want" 5201 ip netns exec "$TX" timeout $((ACC_S + 3)) iperf3 -c "$RX_IP" -p 5201 -u \
      -b $((want * 18 * 8)) -l 18 -t "$ACC_S"
  done
done

PROFILE=""
if [[ $PERF == 1 ]]; then
  # shellcheck disable=SC2046
  perf record -q -g -o "$WORK/perf.data" -- $(gen_cmd af_packet 1 --qdisc-bypass) >/dev/null 2>&1 || true
  # sed, not head: under pipefail an early-closing reader would fail the script.
  PROFILE=$(perf report -q -i "$WORK/perf.data" --no-children --sort symbol -g none 2>/dev/null |
    sed -n '/%/p' | sed -n '1,20p' || true)
fi

# The report.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt_pps() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
acc_cols() { # label want -> "ratio | cv"
  local f=$WORK/res/acc_$1_$2
  local ra cv
  ra=$(awk '{ print $1 }' "$f" | median)
  cv=$(awk '{ print $2 }' "$f" | median)
  echo "$(awk -v v="$ra" 'BEGIN { printf "%.4f (%+.2f%%)", v, (v - 1) * 100 }') | $cv"
}
mkdir -p "$(dirname "$OUT")"
{
  echo "# droplab-gen benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- machine: $(uname -sr), $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- droplab-gen: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') + working tree, build $BUILD"
  echo "- peers: $(trafgen -v 2>/dev/null | sed -n '/^trafgen [0-9]/p' | sed -n 1p), $(iperf3 --version 2>/dev/null | sed -n 1p)"
  echo "- command: \`ROUNDS=$ROUNDS RUN_S=$RUN_S PERF=$PERF bench/gen_bench.sh $BUILD\`"
  echo "- lab: two namespaces, one veth pair, 64-byte frames (60 B + FCS), receiver with no UDP listener"
  echo "  (NO_SOCKET drop; iperf3 needs its server). pps = rx_packets delta on the receiving veth over"
  echo "  2 s inside each ${RUN_S} s run; medians of $ROUNDS interleaved rounds. Noisy 2-CPU machine:"
  echo "  compare within this run only."
  echo
  echo "## Throughput"
  echo
  echo "| sender | CPUs/threads | pps at receiver (median) | ratio to trafgen, same CPUs | all rounds |"
  echo "|---|---|---|---|---|"
  for k in "${ORDER[@]}"; do
    n=${k##*_}
    tg=${MED[trafgen_$n]:-0}
    printf '| %s | %s | %s | %s | %s |\n' "${k%_*}" "$n" "$(fmt_pps "${MED[$k]}")" "$(ratio "${MED[$k]}" "$tg")" \
      "$(tr '\n' ' ' <"$WORK/res/$k")"
  done
  echo
  echo "Commands (\$TX/\$RX = the namespaces, \$GEN = droplab-gen):"
  echo
  for k in "${ORDER[@]}"; do echo "- $k: \`${THR[$k]//$WORK/\$WORK}\`"; done
  echo
  echo "Targets: af_packet 1 thread / trafgen 1 CPU = $(ratio "${MED[gen_af_packet_1]}" "${MED[trafgen_1]}") (target >= 1.2);"
  echo "af_packet 2 threads / 1 thread = $(ratio "${MED[gen_af_packet_2]}" "${MED[gen_af_packet_1]}") (target >= 1.7);"
  echo "io_uring 1 thread / iperf3 = $(ratio "${MED[gen_io_uring_1]}" "${MED[iperf3_1]}") (target >= 2)."
  echo
  echo "## Rate accuracy and smoothness (receiver timestamps)"
  echo
  echo "achieved/requested over the run minus 300 ms at each end; CV = stddev/mean of packets per ms"
  echo "(0 = perfectly even). Every sender runs under \`chrt -f 50\` (SCHED_FIFO, the same for all three)."
  echo "droplab-gen: \`--rate Npps --size 64\` (auto backend); trafgen: \`-b Npps --cpus 1\`;"
  echo "iperf3: \`-u -l 18 -b N*144\`. Medians of $ROUNDS rounds, $ACC_S s runs."
  echo
  echo "| requested pps | droplab-gen achieved/requested | droplab-gen CV | trafgen -b achieved/requested | trafgen CV | iperf3 -b achieved/requested | iperf3 CV |"
  echo "|---|---|---|---|---|---|---|"
  for want in "${RATES[@]}"; do
    echo "| $want | $(acc_cols gen "$want") | $(acc_cols trafgen "$want") | $(acc_cols iperf3 "$want") |"
  done
  if [[ -n $PROFILE ]]; then
    echo
    echo "## perf profile, af_packet 1 thread, --rate max (top symbols, self time)"
    echo
    echo '```'
    echo "$PROFILE"
    echo '```'
  fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
