#!/usr/bin/env bash
# Three hosts that happen to be namespaces, wired like a lab:
#   r  the receiver: an sshd (Debian's openssh-server) carries the ssh:// agent
#   b  a sender with a TLS agent (droplab agent --listen, mutual TLS)
#   a  the controller and the first sender ("local" agent)
#   s  a switch: a bridge joining the three "data" links (198.18.1.0/24)
# Control traffic runs on separate management links (a-r 198.18.2.0/30 for
# ssh, a-b 198.18.3.0/30 for TLS), so the data devices count only the
# experiment. Everything is in namespaces this script makes and removes.
#
# Checks: one waterfall whose totals are the sums over the senders; the
# clock offsets bound the (same-kernel, so zero) true offset; the receiver's
# sysctl (in its namespace) is applied and restored by its agent; then a controller killed
# mid-run: each agent restores its host within its idle timeout.
set -euo pipefail
DROPLAB=${1:?usage: hosts_e2e.sh /path/to/droplab}
DROPLAB=$(readlink -f "$DROPLAB")

skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, sshd)"
[[ -x /usr/sbin/sshd ]] || skip "/usr/sbin/sshd missing (scripts/deps.sh installs openssh-server)"
for t in ssh ssh-keygen openssl jq ip; do command -v $t >/dev/null || skip "$t missing (scripts/deps.sh installs it)"; done

P=dlh$$
A=${P}a B=${P}b R=${P}r S=${P}s
DIR=$(mktemp -d /tmp/droplab-hosts.XXXXXX)
PIDS=()
MADE_RUN_SSHD=0
# A per-namespace sysctl of the receiver (host-global ones, like
# netdev_max_backlog, do not exist inside a namespace). Loose reverse-path
# filtering: our traffic passes either way.
SYSCTL=net.ipv4.conf.all.rp_filter
rx_sysctl() { ip netns exec $R sysctl -n $SYSCTL; }

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do # SIGTERM: the agents restore and exit; SIGKILL after 2 s
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for ns in $A $B $R $S; do ip netns del "$ns" 2>/dev/null || true; done
  ((MADE_RUN_SSHD)) && rmdir /run/sshd 2>/dev/null || true
  rm -rf "$DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # check DESCRIPTION JQ-EXPRESSION FILE: the expression must be true
  if [[ $(jq -r "$2" "$3") != true ]]; then
    echo "FAIL: $1 ($2)" >&2
    jq -c "$2" "$3" >&2 || true
    exit 1
  fi
  echo "ok: $1"
}

# --- the lab -----------------------------------------------------------------
for ns in $A $B $R $S; do
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n $S link add br0 type bridge
ip -n $S link set br0 up
for h in a b r; do
  ns=${P}$h
  ip -n "$ns" link add data type veth peer name s$h netns $S
  ip -n $S link set s$h master br0
  ip -n $S link set s$h up
  ip -n "$ns" link set data up
done
ip -n $A addr add 198.18.1.1/24 dev data
ip -n $B addr add 198.18.1.2/24 dev data
ip -n $R addr add 198.18.1.10/24 dev data
ip -n $A link add mgr type veth peer name mga netns $R
ip -n $A addr add 198.18.2.1/30 dev mgr; ip -n $A link set mgr up
ip -n $R addr add 198.18.2.2/30 dev mga; ip -n $R link set mga up
ip -n $A link add mgb type veth peer name mga netns $B
ip -n $A addr add 198.18.3.1/30 dev mgb; ip -n $A link set mgb up
ip -n $B addr add 198.18.3.2/30 dev mga; ip -n $B link set mga up
SYSCTL_BEFORE=$(rx_sysctl)
SYSCTL_RUN=$(( SYSCTL_BEFORE == 2 ? 0 : 2 ))

# --- sshd in the receiver, with keys made here -------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/id"
cp "$DIR/id.pub" "$DIR/authorized_keys"
echo "198.18.2.2 $(cat "$DIR/host_key.pub")" >"$DIR/known_hosts"
cat >"$DIR/sshd_config" <<CFG
ListenAddress 198.18.2.2
HostKey $DIR/host_key
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $DIR/sshd.pid
LogLevel ERROR
CFG
cat >"$DIR/ssh_config" <<CFG
Host 198.18.2.2
  User root
  IdentityFile $DIR/id
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  StrictHostKeyChecking yes
  ConnectTimeout 5
CFG
if [[ ! -d /run/sshd ]]; then mkdir -m 0755 /run/sshd; MADE_RUN_SSHD=1; fi
ip netns exec $R /usr/sbin/sshd -D -e -f "$DIR/sshd_config" 2>"$DIR/sshd.log" &
PIDS+=($!)

# --- certificates for mutual TLS, made here with the openssl CLI -------------
mkcert() { # mkcert NAME CA SUBJECT [SAN]
  local name=$1 ca=$2 subj=$3 san=${4:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$subj" \
    -keyout "$DIR/$name.key" -out "$DIR/$name.csr" 2>/dev/null
  local ext="$DIR/$name.ext"
  echo "basicConstraints=CA:FALSE" >"$ext"
  [[ -n $san ]] && echo "subjectAltName=$san" >>"$ext"
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/$ca.crt" -CAkey "$DIR/$ca.key" -CAcreateserial \
    -days 1 -extfile "$ext" -out "$DIR/$name.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=droplab test CA" \
  -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null
mkcert agent ca "agent b" "IP:198.18.3.2"
mkcert controller ca "controller a"

start_tls_agent() {
  ip netns exec $B "$DROPLAB" agent --listen 198.18.3.2:7300 --cert "$DIR/agent.crt" --key "$DIR/agent.key" \
    --ca "$DIR/ca.crt" --idle-timeout 3s 2>>"$DIR/agent-b.log" &
  PIDS+=($!)
}
start_tls_agent

# Both agents reachable before the run (sshd and the listener take a moment).
for i in $(seq 50); do
  if ip netns exec $A bash -c 'exec 3<>/dev/tcp/198.18.2.2/22 && exec 4<>/dev/tcp/198.18.3.2/7300' 2>/dev/null; then break; fi
  ((i == 50)) && fail "sshd or the TLS agent did not start: $(cat "$DIR/sshd.log" "$DIR/agent-b.log")"
  sleep 0.1
done

profile() { # profile COUNT
  cat <<JSON
{
  "name": "three-hosts",
  "description": "two senders (local, TLS) into one receiver (ssh) through a switch",
  "gen": {"rate": "10kpps", "count": $1, "size": 64, "flows": 2},
  "sink": {"port": 9000, "rcvbuf_force": "16MiB"},
  "settings": {"rx_sysctls": {"$SYSCTL": "$SYSCTL_RUN"}},
  "hosts": {
    "rx": {"agent": "ssh://198.18.2.2$DROPLAB", "dev": "data", "addr": "198.18.1.10"},
    "tx": [{"agent": "local", "dev": "data"}, {"agent": "tls://198.18.3.2:7300", "dev": "data"}]
  },
  "expect": {"no_loss": true}
}
JSON
}
profile 20000 >"$DIR/three.json"
CTL=(ip netns exec $A "$DROPLAB" run "$DIR/three.json" --ssh-config "$DIR/ssh_config"
     --tls-cert "$DIR/controller.crt" --tls-key "$DIR/controller.key" --tls-ca "$DIR/ca.crt")

# --- 1. one run over three hosts ---------------------------------------------
echo "== run: 2 senders x 20,000 datagrams at 10 kpps each"
if ! "${CTL[@]}" --json "$DIR/report.json" | tee "$DIR/run.log"; then
  echo "--- agent b:"; cat "$DIR/agent-b.log"; echo "--- sshd:"; cat "$DIR/sshd.log"
  fail "droplab run exited non-zero"
fi
J=$DIR/report.json
check "sent is the sum over the senders" '.accounting.sent == 40000 and ([.gen[].summary.sent] | add) == 40000' "$J"
check "every datagram delivered, nothing unexplained" '.accounting.delivered == 40000 and .accounting.unexplained == 0' "$J"
check "each sender has its own gen, qdisc and tx_device stages" \
  '[.stages[] | select(.host == "tx0") | .name] == ["gen","qdisc","tx_device"] and [.stages[] | select(.host == "tx1") | .name] == ["gen","qdisc","tx_device"]' "$J"
check "each sender's gen stage holds its own 20,000" '[.stages[] | select(.name == "gen") | .in] == [20000, 20000]' "$J"
check "the receive stages appear once and start with every sender's packets" \
  '([.stages[] | select(.host == "rx") | .name] | length) == ([.stages[] | select(.host == "rx") | .name] | unique | length) and ([.stages[] | select(.host == "rx")][0].in == 40000)' "$J"
check "the receiving device counted the experiment (and a few ARP packets)" \
  '[.stages[] | select(.name == "rx_device") | .evidence[] | select(.counter == "rx.link.rx_packets") | .delta] | (length == 1 and .[0] >= 40000 and .[0] < 40100)' "$J"
check "the sink kept the senders' flows apart (4 flows, none lost)" \
  '(.sink.flows | length) == 4 and ([.sink.flows[].lost] | add) == 0 and ([.sink.flows[].flow] | sort) == [0,1,2,3]' "$J"
check "the transports are the ones the profile names" \
  '[.context.hosts[].agent] == ["ssh://198.18.2.2'"$DROPLAB"'", "local", "tls://198.18.3.2:7300"]' "$J"
check "clock offsets are within their error bounds (one kernel: the true offset is 0)" \
  'all(.context.clock[]; (.offset_ns | fabs) <= .error_bound_ns and .error_bound_ns < 50000000)' "$J"
check "one-way latency is reported with its error bound" '.latency.error_bound_ns >= 0 and (.latency.percentiles.p99.one_way_ns | type) == "number"' "$J"
check "the receiver's agent applied the sysctl and restored it" \
  '(.context.settings[0].key == "'$SYSCTL'") and (.context.settings[0].applied == "'$SYSCTL_RUN'") and any(.context.restored[]; startswith("rx: sysctl '$SYSCTL'"))' "$J"
[[ $(rx_sysctl) == "$SYSCTL_BEFORE" ]] || fail "$SYSCTL not restored after the run"
echo "ok: $SYSCTL is back to $SYSCTL_BEFORE"

# --- 2. the controller killed mid-run ----------------------------------------
echo "== controller killed mid-run"
profile 200000 >"$DIR/three.json" # 20 s at 10 kpps: still running when killed
"${CTL[@]}" --quiet >"$DIR/killed.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
for i in $(seq 100); do
  [[ $(rx_sysctl) != "$SYSCTL_BEFORE" ]] && pgrep -f "droplab-gen --dst 198.18.1.10" >/dev/null && break
  ((i == 100)) && { cat "$DIR/killed.log"; fail "the run did not get going"; }
  sleep 0.1
done
kill -9 $CPID
t0=$(date +%s%N)
for i in $(seq 100); do
  if [[ $(rx_sysctl) == "$SYSCTL_BEFORE" ]] && ! pgrep -f "droplab-(gen|sink) .*198.18.1.10" >/dev/null; then break; fi
  ((i == 100)) && fail "10 s after the controller died: $SYSCTL=$(rx_sysctl), $(pgrep -af 'droplab-(gen|sink)')"
  sleep 0.1
done
echo "ok: the agents stopped traffic and restored $SYSCTL $(( ($(date +%s%N) - t0) / 1000000 )) ms after the controller died"
# The TLS agent is still up for the next controller.
ip netns exec $A bash -c 'exec 3<>/dev/tcp/198.18.3.2/7300' || fail "the TLS agent did not survive its controller"
echo "ok: the TLS agent still listens"
echo "PASSED"
