# Sourced by bench/gen_bench.sh with MODE=xdp once the lab is up ($TX, $RX,
# $VA, $VB, $GEN, $WORK, $DST, frame.cfg): the sender alone.
#
# An XDP program returning XDP_DROP on the receiving veth ends each frame
# before the IP stack (on veth the receive path otherwise runs on the sending
# CPU and dominates its profile); rx_packets still counts every frame, and a
# permanent neighbour entry replaces ARP (which XDP would drop too).
# pps = rx_packets delta over a fixed 2 s window inside each run; after each
# run we wait until rx_packets stops moving (trafgen --cpus 2 returns while
# its children still send) before the next sender starts.
# Part 2: pacing with --gso auto at 10k, 100k, 1M pps: the rate at the
# receiver (rx_packets over the whole run / droplab-gen's first-to-last send
# time) and droplab-gen's own per-ms CV of datagrams handed to the kernel.

XDP_OBJ=$WORK/xdp_drop.o
clang-14 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$ROOT/bench/xdp/xdp_drop.bpf.c" -o "$XDP_OBJ"
ip -n "$RX" link set dev "$VB" xdp obj "$XDP_OBJ" sec xdp

settle() { # waits (at most 10 s) until rx_packets is still for 300 ms
  local prev cur
  prev=$(rx_packets)
  for _ in $(seq 33); do
    sleep 0.3
    cur=$(rx_packets)
    [[ $cur == "$prev" ]] && return 0
    prev=$cur
  done
  echo "gen_bench.sh: rx_packets still moving after 10 s" >&2
}

# As gen_bench.sh's measure_pps, after the previous sender's frames have stopped arriving.
measure_pps_xdp() {
  settle
  measure_pps "$@"
}

declare -A X=(
  [trafgen_1]="$(trafgen_cmd 1)"
  [trafgen_2]="$(trafgen_cmd 2)"
  [af_packet_1]="$(gen_cmd af_packet 1 --qdisc-bypass)"
  [sendmmsg_1]="$(gen_cmd sendmmsg 1)"
  [sendmmsg_gso8_1]="$(gen_cmd sendmmsg 1 --gso 8)"
  [sendmmsg_gso64_1]="$(gen_cmd sendmmsg 1 --gso 64)"
  [io_uring_1]="$(gen_cmd io_uring 1)"
  [io_uring_gso8_1]="$(gen_cmd io_uring 1 --gso 8)"
  [io_uring_gso64_1]="$(gen_cmd io_uring 1 --gso 64)"
  [sendmmsg_gso64_2]="$(gen_cmd sendmmsg 2 --gso 64)"
  [io_uring_gso64_2]="$(gen_cmd io_uring 2 --gso 64)"
)
XORDER=(trafgen_1 af_packet_1 sendmmsg_1 sendmmsg_gso8_1 sendmmsg_gso64_1 io_uring_1 io_uring_gso8_1
  io_uring_gso64_1 trafgen_2 sendmmsg_gso64_2 io_uring_gso64_2)
mkdir -p "$WORK/res"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "xdp throughput: $ROUNDS rounds x ${#XORDER[@]} senders, $RUN_S s each" >&2
for r in $(seq "$ROUNDS"); do
  for k in "${XORDER[@]}"; do
    # shellcheck disable=SC2086
    pps=$(measure_pps_xdp ${X[$k]})
    echo "$pps" >>"$WORK/res/$k"
    echo "  round $r  $k  $pps pps" >&2
  done
done
declare -A XM
for k in "${XORDER[@]}"; do XM[$k]=$(median <"$WORK/res/$k"); done

PRATES=(10000 100000 1000000)
PACE_S=3
echo "pacing: $ROUNDS rounds x ${#PRATES[@]} rates, --gso auto, $PACE_S s each" >&2
for r in $(seq "$ROUNDS"); do
  for want in "${PRATES[@]}"; do
    settle
    a=$(rx_packets)
    ip netns exec "$TX" timeout $((PACE_S + 3)) chrt -f 50 "$GEN" --dst "$DST" --backend sendmmsg --gso auto \
      --rate "${want}pps" --size 64 --duration "${PACE_S}s" --quiet --json "$WORK/pace.json" >/dev/null 2>&1 || true
    settle
    b=$(rx_packets)
    python3 - "$WORK/pace.json" "$a" "$b" "$want" >>"$WORK/res/pace_$want" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, c = r["summary"], r["context"]
rx = int(sys.argv[3]) - int(sys.argv[2])
want = float(sys.argv[4])
# Receiver rate over the sender's first-to-last span (the first batch was due at t=0).
rx_rate = (rx - 1) / s["duration_s"] if s["duration_s"] > 0 else 0
print("%.5f %.5f %.4f %d %d %d" % (rx_rate / want, s["achieved_pps"] / want, s["per_ms"]["cv"],
                                   c["gso_segments"], rx, s["sent"]))
PY
    echo "  pace $want: $(tail -1 "$WORK/res/pace_$want")" >&2
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
col() { awk -v c="$2" '{ print $c }' "$WORK/res/pace_$1" | median; }
mkdir -p "$(dirname "$OUT")"
{
  echo "# droplab-gen benchmark, the sender alone (XDP_DROP receiver)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- machine: $(uname -sr), $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- load average at the start: $load_start; at the end: $load_end (shared machine: other agents' builds and tests ran)"
  echo "- droplab-gen: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') + working tree, build $BUILD"
  echo "- peer: $(trafgen -v 2>/dev/null | sed -n '/^trafgen [0-9]/p' | sed -n 1p)"
  echo "- command: \`MODE=xdp ROUNDS=$ROUNDS RUN_S=$RUN_S bench/gen_bench.sh $BUILD\`"
  echo "- lab: two namespaces, one veth pair, 64-byte frames; XDP_DROP (clang-14) on the receiving veth;"
  echo "  pps = rx_packets delta over 2 s inside each ${RUN_S} s run, after rx_packets stopped moving;"
  echo "  medians of $ROUNDS interleaved rounds. 1-thread rows pinned to CPU 0, 2-thread rows to CPUs 0,1."
  echo
  echo "## Throughput per core"
  echo
  echo "| sender | threads | pps (median) | ratio to trafgen, same CPUs | all rounds |"
  echo "|---|---|---|---|---|"
  for k in "${XORDER[@]}"; do
    n=${k##*_}
    printf '| %s | %s | %s | %s | %s |\n' "${k%_*}" "$n" "${XM[$k]}" "$(ratio "${XM[$k]}" "${XM[trafgen_$n]}")" \
      "$(tr '\n' ' ' <"$WORK/res/$k")"
  done
  best=sendmmsg_gso64_1
  [[ $(ratio "${XM[io_uring_gso64_1]}" "${XM[sendmmsg_gso64_1]}") > 1.00 ]] && best=io_uring_gso64_1
  echo
  echo "Targets: best backend ($best) / trafgen, 1 CPU = $(ratio "${XM[$best]}" "${XM[trafgen_1]}") (target >= 2.0);"
  echo "af_packet / trafgen, 1 CPU = $(ratio "${XM[af_packet_1]}" "${XM[trafgen_1]}") (target >= 1.0);"
  echo "2 threads / 1 thread: sendmmsg --gso 64 $(ratio "${XM[sendmmsg_gso64_2]}" "${XM[sendmmsg_gso64_1]}"),"
  echo "io_uring --gso 64 $(ratio "${XM[io_uring_gso64_2]}" "${XM[io_uring_gso64_1]}"), trafgen $(ratio "${XM[trafgen_2]}" "${XM[trafgen_1]}") (target >= 1.7)."
  echo
  echo "Commands:"
  echo
  for k in "${XORDER[@]}"; do echo "- $k: \`${X[$k]//$WORK/\$WORK}\`"; done
  echo
  echo "## Pacing with --gso auto (sendmmsg, chrt -f 50, ${PACE_S} s)"
  echo
  echo "rx/requested: receiving veth rx_packets over droplab-gen's first-to-last send time;"
  echo "gen/requested and CV: droplab-gen's own report (CV of datagrams handed to the kernel per ms)."
  echo
  echo "| requested pps | GSO segments used | rx/requested | gen/requested | per-ms CV | rx frames / gen sent (last round) |"
  echo "|---|---|---|---|---|---|"
  for want in "${PRATES[@]}"; do
    last=$(tail -1 "$WORK/res/pace_$want")
    echo "| $want | $(col "$want" 4) | $(col "$want" 1) | $(col "$want" 2) | $(col "$want" 3) | $(awk '{ print $5 " / " $6 }' <<<"$last") |"
  done
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
