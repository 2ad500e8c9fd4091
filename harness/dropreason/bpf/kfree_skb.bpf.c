// Counts skb:kfree_skb per (reason, location) for the lab's network namespaces only.
//
// The kernel structs are declared here with preserve_access_index instead of a generated
// vmlinux.h: the object is built on any machine, and libbpf relocates each field access
// against the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time (CO-RE).
// linux/bpf.h (UAPI, linux-libc-dev) only supplies the map type constants.
// clang-format off: linux/bpf.h defines the types the libbpf headers use
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
// clang-format on

#include "kfree_skb_key.h"

struct ns_common {
  unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
  struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
  struct net* net;
} possible_net_t;

struct net_device {
  possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sock_common {
  possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
  struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff {
  struct net_device* dev;
  struct sock* sk;
} __attribute__((preserve_access_index));

// The lab's network namespace inodes, set by userspace before load: .rodata is frozen, so
// the filter is a few compares against constants, no map lookup on the hot path.
const volatile __u32 lab_netns[DROPLAB_MAX_NETNS] = {};
const volatile __u32 lab_netns_n = 0;

// Per-CPU so the hot path never contends; userspace sums the CPUs.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, DROPLAB_MAX_KEYS);
  __type(key, struct droplab_drop_key);
  __type(value, __u64);
} drop_counts SEC(".maps");

// Events whose key did not fit in drop_counts: counted so a full map is never silent.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} overflow SEC(".maps");

// Namespace of the socket whose destructor runs on this CPU (fentry below), 0 outside one.
// A closing UDP socket frees its queue with skb->dev and skb->sk both NULL (seen on 6.18),
// so the skb alone cannot say which namespace it belonged to.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} closing_netns SEC(".maps");

static __always_inline __u32 sock_netns_inum(struct sock* sk) {
  return sk ? BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) : 0;
}

static __always_inline __u32 closing_inum(void) {
  __u32 zero = 0;
  __u32* closing = bpf_map_lookup_elem(&closing_netns, &zero);
  return closing ? *closing : 0;
}

// raw_tp: untyped pointers, each hop a bpf_probe_read_kernel.
static __always_inline __u32 skb_netns_inum(struct sk_buff* skb) {
  struct net_device* dev = BPF_CORE_READ(skb, dev);
  if (dev) return BPF_CORE_READ(dev, nd_net.net, ns.inum);
  // No device (e.g. freed from a socket queue after skb->dev was cleared): the socket's.
  __u32 inum = sock_netns_inum(BPF_CORE_READ(skb, sk));
  return inum ? inum : closing_inum();
}

// tp_btf: the arguments are BTF-typed, so the same walk is plain loads (the verifier makes
// them fault-safe) instead of one helper call per hop: the cheapest filter on the hot path.
static __always_inline __u32 sock_netns_inum_btf(struct sock* sk) {
  return sk ? sk->__sk_common.skc_net.net->ns.inum : 0;
}

static __always_inline __u32 skb_netns_inum_btf(struct sk_buff* skb) {
  struct net_device* dev = skb->dev;
  if (dev) return dev->nd_net.net->ns.inum;
  __u32 inum = sock_netns_inum_btf(skb->sk);
  return inum ? inum : closing_inum();
}

static __always_inline int in_lab(__u32 inum) {
#pragma unroll
  for (__u32 i = 0; i < DROPLAB_MAX_NETNS; ++i) {
    if (i >= lab_netns_n) return 0;
    if (lab_netns[i] == inum) return 1;
  }
  return 0;
}

static __always_inline int set_closing(struct sock* sk) {
  __u32 zero = 0;
  __u32* closing = bpf_map_lookup_elem(&closing_netns, &zero);
  if (closing) *closing = sk ? sock_netns_inum(sk) : 0;
  return 0;
}

// Destructors run in softirq (RCU) or process context without migrating, and free the
// queue synchronously: the per-CPU slot names the namespace for exactly that window.
SEC("fentry/udp_destruct_common")
int droplab_udp_destruct_enter(unsigned long long* ctx) {
  return set_closing((struct sock*)ctx[0]);
}
SEC("fexit/udp_destruct_common")
int droplab_udp_destruct_exit(unsigned long long* ctx) {
  return set_closing(0);
}
SEC("fentry/inet_sock_destruct")
int droplab_inet_destruct_enter(unsigned long long* ctx) {
  return set_closing((struct sock*)ctx[0]);
}
SEC("fexit/inet_sock_destruct")
int droplab_inet_destruct_exit(unsigned long long* ctx) {
  return set_closing(0);
}

// Set by userspace before load when no namespace was given: count the whole host.
const volatile __u8 count_all_netns = 0;
// The ids of NOT_SPECIFIED and QUEUE_PURGE on the running kernel (from userspace; ~0 if
// absent): the reasons a closing socket frees its queue with.
const volatile __u32 close_reason_a = ~0u;
const volatile __u32 close_reason_b = ~0u;

// Set by userspace when the tracepoint has its rx_sk argument (Linux >= 6.11).
const volatile __u8 have_rx_sk = 0;

// Whether a free in namespace `inum` (0: unknown) is counted, and with which key flags.
static __always_inline int keep(__u32 inum, __u32 reason, __u32* flags) {
  *flags = 0;
  if (count_all_netns) return 1;
  if (inum) return in_lab(inum);
  // A socket-close free whose namespace is unknown: userspace keeps it only at a socket
  // destructor.
  if (reason == close_reason_a || reason == close_reason_b) {
    *flags = DROPLAB_KEY_NETNS_UNKNOWN;
    return 1;
  }
  return 0;
}

static __always_inline void count(__u32 flags, void* location, __u32 reason) {
  struct droplab_drop_key key = {.reason = reason, .flags = flags, .location = (__u64)location};
  __u64* value = bpf_map_lookup_elem(&drop_counts, &key);
  if (value) {
    *value += 1; // this CPU's slot: no other writer
    return;
  }
  __u64 one = 1;
  // On a new key, another CPU may win the insert: then our slot exists, look it up again.
  if (bpf_map_update_elem(&drop_counts, &key, &one, BPF_NOEXIST) == 0) return;
  value = bpf_map_lookup_elem(&drop_counts, &key);
  if (value) {
    *value += 1;
    return;
  }
  __u32 zero = 0;
  __u64* lost = bpf_map_lookup_elem(&overflow, &zero);
  if (lost) *lost += 1;
}

// trace_kfree_skb(skb, location, reason[, rx_sk]): the reason argument exists since 5.17,
// rx_sk since 6.11. tp_btf gives typed arguments; raw_tp is the fallback for kernels whose
// BTF lacks the btf_trace_kfree_skb typedef. With have_rx_sk = 0 the verifier prunes the
// ctx[3] read as dead code, so the same object loads on kernels without rx_sk.
SEC("tp_btf/kfree_skb")
int droplab_kfree_skb_btf(unsigned long long* ctx) {
  struct sk_buff* skb = (struct sk_buff*)ctx[0];
  __u32 reason = (__u32)ctx[2], flags = 0, inum = 0;
  if (!count_all_netns) {
    // The receiving socket first: by the time UDP drops at enqueue
    // (__udp_enqueue_schedule_skb), udp_set_dev_scratch() has overwritten
    // skb->dev, which shares a union with dev_scratch.
    struct sock* rx_sk = have_rx_sk ? (struct sock*)ctx[3] : 0;
    inum = sock_netns_inum_btf(rx_sk);
    if (!inum) inum = skb_netns_inum_btf(skb);
  }
  if (keep(inum, reason, &flags)) count(flags, (void*)ctx[1], reason);
  return 0;
}

SEC("raw_tp/kfree_skb")
int droplab_kfree_skb_raw(struct bpf_raw_tracepoint_args* ctx) {
  struct sk_buff* skb = (struct sk_buff*)ctx->args[0];
  __u32 reason = (__u32)ctx->args[2], flags = 0;
  __u32 inum = count_all_netns ? 0 : skb_netns_inum(skb);
  if (keep(inum, reason, &flags)) count(flags, (void*)ctx->args[1], reason);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
