// Counts the kernel's drop reasons (skb:kfree_skb) per (reason, location) during a run.
//
// Backends, tried in order: BPF (a tp_btf/raw_tp program counting in a per-CPU map, only
// for the lab's network namespaces), then the tracefs text buffer of a private instance
// (host-wide: it cannot filter by namespace), else Unavailable with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace droplab::dropreason {

enum class Mode { Bpf, Tracefs, Unavailable };
const char* to_string(Mode mode) noexcept;

struct ReasonCount {
  std::string reason;      // kernel name, e.g. "SOCKET_RCVBUFF"; "reason#N" if unnamed
  std::uint32_t reason_id; // enum skb_drop_reason value on the running kernel
  std::string location;    // "symbol+0xoff", or hex when unresolvable
  std::uint64_t count;
  // Freed by a closing socket purging its queue (udp_destruct_common, inet_sock_destruct):
  // the kernel calls it kfree_skb but no packet was lost in transit. Never add to drops.
  bool not_a_drop;
  // Not filtered by namespace: every count in Tracefs mode; in Bpf mode, socket-close frees
  // when the destructor fentry programs could not attach (the skb then has no dev and no sk).
  bool host_wide = false;
};

// What this kernel offers for counting drop reasons, found by really loading and attaching
// the program for a moment (every namespace, nothing kept): what `droplab doctor` shows.
struct Capabilities {
  std::map<std::uint32_t, std::string> names; // the reason names this kernel knows
  std::string names_source;                    // where they were read, or why there are none
  bool bpf = false;                            // a kfree_skb program loaded and attached
  std::string bpf_detail;                      // which variant, or why none
  bool tp_btf = false;                         // tp_btf/kfree_skb with its reason (else raw_tp)
  bool fentry = false;                         // socket-close frees attributable to a namespace
  std::string fentry_detail;
};
Capabilities probe_capabilities();

class DropReasonCounter {
public:
  struct Options {
    std::vector<std::string> netns_names; // names under /run/netns, at most 8
    bool allow_bpf = true;
    bool allow_tracefs = true;
  };
  // Called with the tracefs instance path before it is created, so the caller can journal
  // it; an exception thrown here aborts the start (nothing created).
  using BeforeMkdir = std::function<void(const std::string& instance_path)>;

  // Starts counting. Never throws for an unusable backend: it moves to the next one and the
  // result's mode()/mode_reason() say what was used and why. Throws std::system_error when
  // a namespace name cannot be resolved, std::invalid_argument for more than 8 names.
  static std::unique_ptr<DropReasonCounter> start(const Options& options,
                                                  const BeforeMkdir& before_tracefs_mkdir);

  // The private tracefs instance this process would use: "<tracefs>/instances/droplab-<pid>".
  // Known before start(), so it can be journaled first.
  static std::string planned_tracefs_instance_path();
  // Recovery after a killed run: disables the instance's events and removes it. A missing
  // instance is not an error; throws std::system_error on other failures.
  static void remove_instance(const std::string& path);

  DropReasonCounter(const DropReasonCounter&) = delete;
  DropReasonCounter& operator=(const DropReasonCounter&) = delete;
  ~DropReasonCounter(); // stop()

  Mode mode() const noexcept { return mode_; }
  // Why this mode, e.g. "BPF: tp_btf/kfree_skb attached, filtered to netns 4026532xyz".
  const std::string& mode_reason() const noexcept { return mode_reason_; }
  // Path of the tracefs instance in use, empty unless mode() is Tracefs.
  std::string tracefs_instance_path() const;
  // Events the backend could not count (BPF map full, trace buffer overrun).
  std::uint64_t lost_events() const;

  // Cumulative counts since start(), sorted by count descending. In Tracefs mode, first
  // drains what the kernel has already written to the buffer. Empty when Unavailable.
  std::vector<ReasonCount> read() const;

  // Detaches the program / removes the tracefs instance. Idempotent; counts read after
  // stop() are those at the moment of stop().
  void stop();

  class Backend; // src/backend.hpp

private:
  DropReasonCounter() = default;

  Mode mode_ = Mode::Unavailable;
  std::string mode_reason_;
  std::unique_ptr<Backend> backend_;
  mutable std::vector<ReasonCount> final_counts_;
  bool stopped_ = false;
};

} // namespace droplab::dropreason
