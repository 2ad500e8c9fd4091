#include "droplab/dropreason/counter.hpp"

#include <linux/types.h> // __u32/__u64 for the shared BPF key header

#include "kfree_skb_key.h"

#include "backend.hpp"
#include "droplab/dropreason/parse_error.hpp"
#include "droplab/dropreason/reason_names.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace droplab::dropreason {
namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr std::size_t kMaxNetns = DROPLAB_MAX_NETNS; // the BPF filter's lab_netns size

// Where a closing socket frees what is still queued (6.18: udp_destruct_common frees the
// reader queue with kfree_skb → NOT_SPECIFIED; inet_sock_destruct purges sk_receive_queue,
// QUEUE_PURGE since 6.7's __skb_queue_purge_reason). Received, never read: not a drop.
constexpr std::array kSocketCloseFunctions = {"udp_destruct_common", "inet_sock_destruct",
                                              "udp_destruct_sock", "udpv6_destruct_sock"};
constexpr std::array kSocketCloseReasons = {"NOT_SPECIFIED", "QUEUE_PURGE"};

bool is_socket_close(const ReasonCount& c) {
  const std::string_view symbol = std::string_view(c.location).substr(0, c.location.find('+'));
  return std::find(kSocketCloseFunctions.begin(), kSocketCloseFunctions.end(), symbol) !=
             kSocketCloseFunctions.end() &&
         std::find(kSocketCloseReasons.begin(), kSocketCloseReasons.end(), c.reason) !=
             kSocketCloseReasons.end();
}

std::vector<NetnsTarget> resolve_netns(const std::vector<std::string>& names) {
  if (names.size() > kMaxNetns)
    throw std::invalid_argument(
        fmt::format("{} network namespaces given, the drop-reason filter holds at most {}",
                    names.size(), kMaxNetns));
  std::vector<NetnsTarget> out;
  for (const std::string& name : names) {
    const std::string path = "/run/netns/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      throw std::system_error(errno, std::generic_category(), "stat " + path);
    out.push_back({name, static_cast<std::uint32_t>(st.st_ino)});
  }
  return out;
}

std::string describe(const std::vector<NetnsTarget>& targets) {
  if (targets.empty()) return "not filtered (no namespace given: host-wide)";
  std::string s = "filtered to netns";
  for (const auto& t : targets)
    s += fmt::format(" {} ({})", t.inum, t.name);
  return s;
}


// Names: the tracepoint format first (what the text buffer prints), else kernel BTF. False
// with `source` saying why when neither has them.
bool load_names(ReasonNames& names, std::string& source) {
  const std::string format_path = kKfreeSkbFormatPath;
  try {
    names = read_kfree_skb_reasons(format_path);
    source = "reason names from " + format_path;
    return true;
  } catch (const std::exception& format_error) {
    try {
      names = reason_names_from_btf();
      source = fmt::format("reason names from kernel BTF ({})", format_error.what());
      return true;
    } catch (const std::exception& btf_error) {
      source = fmt::format("{}; {}", format_error.what(), btf_error.what());
      return false;
    }
  }
}

} // namespace

Capabilities probe_capabilities() {
  Capabilities c;
  if (!load_names(c.names, c.names_source)) {
    c.bpf_detail = c.fentry_detail = "no reason names: " + c.names_source;
    return c;
  }
  try {
    std::string description;
    BpfLoadInfo info;
    auto backend = make_bpf_backend({}, c.names, description, &info);
    backend->stop();
    c.bpf = true;
    c.bpf_detail = description;
    c.tp_btf = info.tp_btf;
    c.fentry = info.fentry;
    c.fentry_detail = info.fentry ? "fentry on udp_destruct_common/inet_sock_destruct attached"
                                  : info.fentry_error;
  } catch (const std::exception& e) {
    c.bpf_detail = e.what();
    c.fentry_detail = "no BPF program loads";
  }
  return c;
}

const char* to_string(Mode mode) noexcept {
  switch (mode) {
  case Mode::Bpf: return "bpf";
  case Mode::Tracefs: return "tracefs";
  case Mode::Unavailable: return "unavailable";
  }
  return "unavailable";
}

std::string DropReasonCounter::planned_tracefs_instance_path() {
  return fmt::format("{}/instances/droplab-{}", kTracefs, ::getpid());
}

std::unique_ptr<DropReasonCounter>
DropReasonCounter::start(const Options& options, const BeforeMkdir& before_tracefs_mkdir) {
  const std::vector<NetnsTarget> targets = resolve_netns(options.netns_names);
  std::unique_ptr<DropReasonCounter> self(new DropReasonCounter());

  ReasonNames names;
  std::string names_source;
  if (!load_names(names, names_source)) {
    self->mode_reason_ = "drop reasons unavailable: " + names_source;
    return self;
  }

  std::string bpf_failure = "BPF disabled by the caller";
  if (options.allow_bpf) {
    try {
      std::string description;
      self->backend_ = make_bpf_backend(targets, names, description);
      self->mode_ = Mode::Bpf;
      self->mode_reason_ =
          fmt::format("BPF: {}, {}; {}", description, describe(targets), names_source);
      return self;
    } catch (const std::exception& e) {
      bpf_failure = fmt::format("BPF failed: {}", e.what());
    }
  }

  std::string tracefs_failure = "tracefs disabled by the caller";
  if (options.allow_tracefs) {
    try {
      self->backend_ =
          make_tracefs_backend(planned_tracefs_instance_path(), names, before_tracefs_mkdir);
      self->mode_ = Mode::Tracefs;
      self->mode_reason_ = fmt::format(
          "fallback: {}; tracefs instance {}: counts are host-wide (the text buffer cannot "
          "filter by namespace); {}",
          bpf_failure, self->backend_->instance_path(), names_source);
      return self;
    } catch (const BackendUnavailable& e) {
      tracefs_failure = e.what();
    }
  }
  self->mode_reason_ =
      fmt::format("drop reasons unavailable: {}; {}", bpf_failure, tracefs_failure);
  return self;
}

DropReasonCounter::~DropReasonCounter() {
  stop();
}

std::string DropReasonCounter::tracefs_instance_path() const {
  return backend_ && !stopped_ ? backend_->instance_path() : std::string();
}

std::uint64_t DropReasonCounter::lost_events() const {
  return backend_ ? backend_->lost() : 0;
}

std::vector<ReasonCount> DropReasonCounter::read() const {
  if (stopped_ || !backend_) return final_counts_;
  std::vector<ReasonCount> counts = backend_->collect();
  for (ReasonCount& c : counts)
    c.not_a_drop = is_socket_close(c);
  // The BPF side keeps namespace-less frees only in case they are a socket close.
  if (mode_ == Mode::Bpf)
    std::erase_if(counts, [](const ReasonCount& c) { return c.host_wide && !c.not_a_drop; });
  std::sort(counts.begin(), counts.end(), [](const ReasonCount& a, const ReasonCount& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.reason != b.reason) return a.reason < b.reason;
    return a.location < b.location;
  });
  return counts;
}

void DropReasonCounter::stop() {
  if (stopped_ || !backend_) return;
  final_counts_ = read();
  backend_->stop();
  stopped_ = true;
}

} // namespace droplab::dropreason
