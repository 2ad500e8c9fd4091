// The interface both counting backends implement (internal to the module).
#pragma once

#include "droplab/dropreason/counter.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace droplab::dropreason {

using ReasonNames = std::map<std::uint32_t, std::string>;

class DropReasonCounter::Backend {
public:
  virtual ~Backend() = default;
  // Cumulative counts; not_a_drop is left false (the counter classifies).
  virtual std::vector<ReasonCount> collect() = 0;
  virtual std::uint64_t lost() const = 0;
  virtual std::string instance_path() const { return {}; }
  // Detach / remove; idempotent.
  virtual void stop() = 0;
};

// A backend that could not be set up; what() says why, for mode_reason().
class BackendUnavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct NetnsTarget {
  std::string name;
  std::uint32_t inum;
};

// Which variant of the BPF program loaded, and why the richer ones did not.
struct BpfLoadInfo {
  bool tp_btf = false; // else raw_tp
  bool rx_sk = false;  // the tracepoint's rx_sk argument (Linux >= 6.11)
  bool fentry = false; // the socket-close fentry programs attached
  std::string tp_btf_error, fentry_error;
};

// BPF on skb:kfree_skb. `description` receives e.g. "tp_btf/kfree_skb attached".
// Empty `targets` counts every namespace. Throws BackendUnavailable.
std::unique_ptr<DropReasonCounter::Backend>
make_bpf_backend(const std::vector<NetnsTarget>& targets, const ReasonNames& names,
                 std::string& description, BpfLoadInfo* info = nullptr);

// Reason names from the kernel's BTF (enum skb_drop_reason, "SKB_DROP_REASON_" stripped),
// for when tracefs is not mounted. Throws BackendUnavailable.
ReasonNames reason_names_from_btf();

// Text buffer of a private tracefs instance at `instance_path` (host-wide counts).
// Calls before_mkdir(instance_path) first. Throws BackendUnavailable.
std::unique_ptr<DropReasonCounter::Backend>
make_tracefs_backend(const std::string& instance_path, const ReasonNames& names,
                     const DropReasonCounter::BeforeMkdir& before_mkdir);

std::string reason_name(const ReasonNames& names, std::uint32_t id);

} // namespace droplab::dropreason
