// Drops every frame at the receiving veth (XDP_DROP) so a sender benchmark
// measures the sender alone: veth runs the receive path on the sending CPU,
// and XDP ends it before the IP stack. rx_packets still counts each frame.
// Built by bench/gen_bench.sh with Debian's clang-14:
//   clang-14 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c xdp_drop.bpf.c
#include <linux/bpf.h>

__attribute__((section("xdp"), used)) int xdp_drop(struct xdp_md* ctx) {
  (void)ctx;
  return XDP_DROP;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
