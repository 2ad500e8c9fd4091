// Shared by the BPF program and userspace: the layout of a drop_counts key.
#pragma once

#define DROPLAB_MAX_NETNS 8
#define DROPLAB_MAX_KEYS 4096

// Counted without knowing the namespace: a socket-close free whose skb has neither dev nor
// sk, while the destructor fentry programs could not be attached.
#define DROPLAB_KEY_NETNS_UNKNOWN 1u

struct droplab_drop_key {
  __u32 reason;
  __u32 flags; // DROPLAB_KEY_* bits; explicit so the hash never sees padding

  __u64 location;
};
