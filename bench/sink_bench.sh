#!/bin/bash
# droplab-sink benchmark: the highest rate each receiver takes with no loss
# (the knee), found by bisection, median over rounds. Receivers: every
# droplab-sink backend at 1 and 2 threads (fed by droplab-gen), iperf3 -s and
# sockperf server (fed by their own clients at the same frame size and rate:
# iperf3 -s only receives from an iperf3 client, and sockperf server logs an
# error line per foreign datagram). Loss is measured the same way for all:
#   loss = Udp OutDatagrams delta in the sender namespace
#        - Udp InDatagrams delta in the receiver namespace (read once settled).
# A trial counts only if the sender reached 95% of the target rate; if it
# cannot, the knee is reported as ">= what the sender reached".
#
# Usage: bench/sink_bench.sh [BUILD_DIR]   (root; env ROUNDS=3 DUR=2 STEPS=6 OUT=…)
# Traffic: only inside the two namespaces it creates, to 198.18.0.0/15; every
# sender is bounded by its duration. The namespaces are deleted on every exit.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="${1:-$HERE/../build-sink}"
SINK="$BUILD/bin/droplab-sink"
GEN="${GEN:-$BUILD/bin/droplab-gen}"
ROUNDS="${ROUNDS:-3}"
DUR="${DUR:-2}"          # seconds per trial
STEPS="${STEPS:-6}"      # bisection steps per round
LO="${LO:-20000}"        # pps: the low end of the search
OUT="${OUT:-$HERE/results/sink.md}"
RCVBUF="${RCVBUF:-4194304}" # every receiver asks for this SO_RCVBUF (bytes)
SIZE=64                  # frame size on the wire; UDP payload 18 bytes
PAYLOAD=18

[ "$(id -u)" -eq 0 ] || { echo "sink_bench.sh: needs root (ip netns)" >&2; exit 2; }
for b in "$SINK" "$GEN"; do
  [ -x "$b" ] || { echo "sink_bench.sh: $b not built" >&2; exit 2; }
done

# Peers from Debian, installed only if missing.
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v sockperf >/dev/null || need+=(sockperf)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null
fi

source "$HERE/sink_lab.sh"
RECEIVER_PID=""
WORK="$(mktemp -d /tmp/sink-bench-XXXXXX)"
cleanup() {
  if [ -n "$RECEIVER_PID" ]; then kill "$RECEIVER_PID" 2>/dev/null || true; wait "$RECEIVER_PID" 2>/dev/null || true; fi
  lab_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab_up

snmp_udp() { # NS FIELD
  ip netns exec "$1" awk -v f="$2" '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c[f] }' /proc/net/snmp
}

# Reads InDatagrams until it stops moving for 300 ms (bounded: 5 s).
settled_in() {
  local prev cur n=0
  prev=$(snmp_udp "$LAB_RCV" InDatagrams)
  while [ $n -lt 50 ]; do
    sleep 0.3
    cur=$(snmp_udp "$LAB_RCV" InDatagrams)
    [ "$cur" = "$prev" ] && break
    prev=$cur; n=$((n + 6))
  done
  echo "$prev"
}

# send KIND RATE: one bounded trial from the sender namespace, pinned to SND_CPU.
send() {
  local kind=$1 rate=$2
  case $kind in
    gen) ip netns exec "$LAB_SND" taskset -c "$SND_CPU" "$GEN" --dst "$LAB_RCV_ADDR:9000" --rate "$rate" \
           --duration "${DUR}s" --flows 4 --size $SIZE --backend sendmmsg --quiet \
           >"$WORK/send.log" 2>&1 ;;
    iperf3) ip netns exec "$LAB_SND" taskset -c "$SND_CPU" iperf3 -c "$LAB_RCV_ADDR" -p 5201 -u -l $PAYLOAD \
              -w "$RCVBUF" -b $((rate * PAYLOAD * 8)) -t "$DUR" >"$WORK/send.log" 2>&1 ;;
    sockperf) ip netns exec "$LAB_SND" taskset -c "$SND_CPU" sockperf throughput -i "$LAB_RCV_ADDR" -p 11111 \
                -m $PAYLOAD --mps "$rate" -t "$DUR" >"$WORK/send.log" 2>&1 ;;
  esac
}

# trial KIND RATE -> prints "loss achieved_pps"
trial() {
  local out0 in0 out1 in1
  out0=$(snmp_udp "$LAB_SND" OutDatagrams); in0=$(snmp_udp "$LAB_RCV" InDatagrams)
  if ! send "$1" "$2"; then
    echo "sink_bench.sh: the $1 sender failed at $2 pps:" >&2
    cat "$WORK/send.log" >&2
    exit 1
  fi
  out1=$(snmp_udp "$LAB_SND" OutDatagrams); in1=$(settled_in)
  echo "$(( (out1 - out0) - (in1 - in0) )) $(( (out1 - out0) / DUR ))"
}

# knee KIND HI -> prints the highest rate with no loss ("<LO" / ">=N" at the ends)
knee() {
  local kind=$1 hi=$2 lo=$LO loss got mid i
  read -r loss got < <(trial "$kind" "$hi")
  if [ "$loss" -le 0 ]; then
    if [ "$got" -lt $((hi * 95 / 100)) ]; then echo ">=$got"; else echo "$hi"; fi
    return
  fi
  if [ "$got" -lt $((hi * 95 / 100)) ] && [ "$got" -lt "$hi" ]; then hi=$got; fi
  read -r loss got < <(trial "$kind" "$lo")
  if [ "$loss" -gt 0 ]; then echo "<$lo"; return; fi
  for ((i = 0; i < STEPS; i++)); do
    mid=$(( (lo + hi) / 2 ))
    read -r loss got < <(trial "$kind" "$mid")
    if [ "$loss" -le 0 ] && [ "$got" -ge $((mid * 95 / 100)) ]; then lo=$mid; else hi=$mid; fi
  done
  echo "$lo"
}

median() { # values may carry < or >=; sorts on the number
  printf '%s\n' "$@" | awk '{ n = $0; gsub(/[<>=]/, "", n); print n "\t" $0 }' | sort -n | \
    awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }'
}

start_receiver() { # NAME ARGS...
  local log="$WORK/$1.log"; shift
  ip netns exec "$LAB_RCV" taskset -c "$RCV_CPU" "$@" >"$log" 2>&1 &
  RECEIVER_PID=$!
}
stop_receiver() {
  kill -TERM "$RECEIVER_PID" 2>/dev/null || true
  wait "$RECEIVER_PID" 2>/dev/null || true
  RECEIVER_PID=""
}

# The ceiling: what droplab-gen reaches unpaced into this lab (nobody listening).
read -r _ GEN_MAX < <(trial gen max)
HI=$(( GEN_MAX * 95 / 100 ))
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "droplab-gen unpaced: $GEN_MAX pps; searching $LO..$HI pps, $ROUNDS rounds, ${DUR}s trials"

declare -A KNEE
ROWS=()
run_receiver() { # LABEL KIND CMD...
  local label=$1 kind=$2; shift 2
  local knees=() r k
  start_receiver "${label//[^a-zA-Z0-9]/_}" "$@"
  sleep 0.5 # the peers have no readiness signal; droplab-sink's is not needed here
  for ((r = 1; r <= ROUNDS; r++)); do
    k=$(knee "$kind" "$HI")
    knees+=("$k")
    echo "  $label round $r: knee $k pps"
  done
  stop_receiver
  KNEE[$label]="$(median "${knees[@]}") (rounds: ${knees[*]})"
  ROWS+=("$label")
}

for threads in 1 2; do
  for backend in recvmmsg recv asio io_uring; do
    run_receiver "droplab-sink $backend x$threads" gen \
      "$SINK" --listen "$LAB_RCV_ADDR:9000" --backend "$backend" --threads "$threads" \
      --rcvbuf "$RCVBUF" --quiet
  done
done
run_receiver "iperf3 -s" iperf3 iperf3 -s -p 5201
run_receiver "sockperf server" sockperf sockperf server -i "$LAB_RCV_ADDR" -p 11111 \
  --buffer-size "$RCVBUF"

# The report: a markdown section appended to $OUT.
mkdir -p "$(dirname "$OUT")"
if [ ! -s "$OUT" ]; then
  cat >"$OUT" <<'HDR'
# droplab-sink benchmark results

Written by `bench/sink_bench.sh` (each run appends a section). The knee is the highest offered
rate at which the receiver lost nothing; ">=N": no loss at the highest rate the sender reached
(sender-bound); "<20000": loss even at the bottom of the search. iperf3/sockperf rows are fed by
their own clients at the same frame size and rates. Compare rows only within one section.
HDR
fi
{
  echo
  echo "## droplab-sink knee, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(uname -r), $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- command: \`ROUNDS=$ROUNDS DUR=$DUR STEPS=$STEPS LO=$LO bench/sink_bench.sh $BUILD\`"
  echo "- lab: two namespaces, one veth pair, ${SIZE}-byte frames (18-byte UDP payload), senders pinned to CPU $SND_CPU,"
  echo "  receivers and the receive softirq (RPS on the receiving veth) on CPU $RCV_CPU, each asking for SO_RCVBUF $RCVBUF B (droplab-sink --rcvbuf, iperf3 -w,"
  echo "  sockperf --buffer-size; rmem_max $(cat /proc/sys/net/core/rmem_max) B)."
  echo "- load average at the start: $START_LOAD; at the end: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: other jobs compete for the 2 CPUs)"
  echo "- knee: highest rate with zero loss (sender's Udp OutDatagrams minus receiver's Udp InDatagrams),"
  echo "  bisection from $LO to $HI pps ($STEPS steps), median of $ROUNDS rounds; \">=N\": the sender"
  echo "  could not go faster; droplab-gen unpaced reached $GEN_MAX pps here."
  echo "- droplab-sink rows: droplab-gen, 4 flows. iperf3/sockperf rows: their own clients at the same size and rate."
  echo
  echo "| receiver | knee (pps, median) | per round |"
  echo "|---|---|---|"
  for label in "${ROWS[@]}"; do
    med="${KNEE[$label]%% (*}"; rounds="${KNEE[$label]#* (rounds: }"; rounds="${rounds%)}"
    echo "| $label | $med | $rounds |"
  done
} | tee -a "$OUT"
