# Sourced by bench/sink_bench.sh: a two-namespace veth lab owned by this
# process (names carry the pid), torn down by the caller's trap on every exit.
# Traffic rule: addresses in 198.18.0.0/15 only, inside these namespaces only.

LAB_SND="dlsb-snd-$$"
LAB_RCV="dlsb-rcv-$$"
LAB_RCV_ADDR=198.18.0.1
LAB_SND_ADDR=198.18.0.2
SND_CPU=0
RCV_CPU=1
RCV_CPU_MASK=2

lab_up() {
  ip netns add "$LAB_SND"
  ip netns add "$LAB_RCV"
  ip link add "dlsb$$a" netns "$LAB_SND" type veth peer name "dlsb$$b" netns "$LAB_RCV"
  ip -n "$LAB_SND" addr add "$LAB_SND_ADDR/24" dev "dlsb$$a"
  ip -n "$LAB_RCV" addr add "$LAB_RCV_ADDR/24" dev "dlsb$$b"
  for ns in "$LAB_SND" "$LAB_RCV"; do ip -n "$ns" link set lo up; done
  ip -n "$LAB_SND" link set "dlsb$$a" up
  ip -n "$LAB_RCV" link set "dlsb$$b" up
  # RPS: the receive softirq runs on CPU 1 (RCV_CPU) instead of in the
  # sender's context on CPU 0, so the sender is not slowed by the receive path
  # and the receiver competes with the softirq, as on a real host. The veth
  # and its setting vanish with the namespace: nothing on the host changes.
  ip netns exec "$LAB_RCV" sh -c "echo $RCV_CPU_MASK > /sys/class/net/dlsb$$b/queues/rx-0/rps_cpus"
}

lab_down() {
  ip netns del "$LAB_SND" 2>/dev/null || true
  ip netns del "$LAB_RCV" 2>/dev/null || true
}

# Udp InDatagrams in the receiving namespace: datagrams handed to any reader.
rcv_in_datagrams() {
  ip netns exec "$LAB_RCV" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["InDatagrams"] }' /proc/net/snmp
}
