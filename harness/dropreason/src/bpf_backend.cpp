// BPF backend: a tp_btf (or raw_tp) program on skb:kfree_skb counting into a per-CPU hash.
#include "backend.hpp"

#include "droplab/dropreason/kallsyms.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "dropreason_bpf.skel.h"
#include "kfree_skb_key.h"

namespace droplab::dropreason {
namespace {

// libbpf prints through one global callback; keep the last warning so a load failure can
// say more than "-EPERM".
std::mutex g_print_mutex;
std::string g_last_libbpf_message;

int capture_libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[512];
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  std::lock_guard lock(g_print_mutex);
  std::string line(buf,
                   n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
  while (!line.empty() && line.back() == '\n')
    line.pop_back();
  if (!line.empty()) g_last_libbpf_message = line;
  return 0;
}

std::string last_libbpf_message() {
  std::lock_guard lock(g_print_mutex);
  return g_last_libbpf_message.empty() ? std::string() : " (libbpf: " + g_last_libbpf_message + ")";
}

struct SkelDeleter {
  void operator()(dropreason_bpf* s) const noexcept { dropreason_bpf__destroy(s); }
};
using Skel = std::unique_ptr<dropreason_bpf, SkelDeleter>;

struct LinkDeleter {
  void operator()(bpf_link* l) const noexcept { bpf_link__destroy(l); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

class BpfBackend final : public DropReasonCounter::Backend {
public:
  BpfBackend(Skel skel, Link link, std::vector<Link> close_links, ReasonNames names)
      : skel_(std::move(skel)), link_(std::move(link)), close_links_(std::move(close_links)),
        names_(std::move(names)) {
    try {
      kallsyms_ = Kallsyms::load();
    } catch (const std::exception&) {
      // Locations stay hex: still counts, only less readable.
    }
  }

  std::vector<ReasonCount> collect() override {
    std::vector<ReasonCount> out;
    if (!skel_) return out;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return out;
    std::vector<std::uint64_t> values(static_cast<std::size_t>(ncpu));
    bpf_map* map = skel_->maps.drop_counts;
    droplab_drop_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map__get_next_key(map, prev, &next, sizeof next) == 0) {
      key = next;
      prev = &key;
      if (bpf_map__lookup_elem(map, &key, sizeof key, values.data(),
                               values.size() * sizeof(std::uint64_t), 0) != 0)
        continue; // deleted meanwhile: cannot happen, we never delete
      std::uint64_t sum = 0;
      for (std::uint64_t v : values)
        sum += v;
      out.push_back({reason_name(names_, key.reason), key.reason, kallsyms_.resolve(key.location),
                     sum, false, (key.flags & DROPLAB_KEY_NETNS_UNKNOWN) != 0});
    }
    return out;
  }

  std::uint64_t lost() const override {
    if (!skel_) return lost_at_stop_;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return 0;
    std::vector<std::uint64_t> values(static_cast<std::size_t>(ncpu));
    const std::uint32_t zero = 0;
    if (bpf_map__lookup_elem(skel_->maps.overflow, &zero, sizeof zero, values.data(),
                             values.size() * sizeof(std::uint64_t), 0) != 0)
      return 0;
    std::uint64_t sum = 0;
    for (std::uint64_t v : values)
      sum += v;
    return sum;
  }

  void stop() override {
    if (!skel_) return;
    lost_at_stop_ = lost();
    link_.reset();
    close_links_.clear();
    skel_.reset();
  }

private:
  Skel skel_;
  Link link_;
  std::vector<Link> close_links_;
  ReasonNames names_;
  Kallsyms kallsyms_;
  std::uint64_t lost_at_stop_ = 0;
};

// Opens, loads and fills the filter with one of the two programs autoloaded.
bpf_program* const* close_progs(dropreason_bpf* skel, std::size_t& n) {
  static thread_local bpf_program* progs[4];
  progs[0] = skel->progs.droplab_udp_destruct_enter;
  progs[1] = skel->progs.droplab_udp_destruct_exit;
  progs[2] = skel->progs.droplab_inet_destruct_enter;
  progs[3] = skel->progs.droplab_inet_destruct_exit;
  n = 4;
  return progs;
}

Skel load(bool use_btf, bool use_fentry, bool use_rx_sk, const std::vector<NetnsTarget>& targets,
          std::pair<std::uint32_t, std::uint32_t> close_reason_ids, std::string& error) {
  Skel skel(dropreason_bpf__open());
  if (!skel) {
    error = fmt::format("open: {}{}", std::strerror(errno), last_libbpf_message());
    return nullptr;
  }
  if (targets.size() > DROPLAB_MAX_NETNS) {
    error = fmt::format("{} network namespaces to filter; the BPF program holds at most {}",
                        targets.size(), DROPLAB_MAX_NETNS);
    return nullptr;
  }
  skel->rodata->count_all_netns = targets.empty();
  // Before load: .rodata is frozen then, and the filter compares against constants.
  for (std::size_t i = 0; i < targets.size(); ++i)
    skel->rodata->lab_netns[i] = targets[i].inum;
  skel->rodata->lab_netns_n = static_cast<std::uint32_t>(targets.size());
  skel->rodata->have_rx_sk = use_rx_sk;
  skel->rodata->close_reason_a = close_reason_ids.first;
  skel->rodata->close_reason_b = close_reason_ids.second;
  bpf_program__set_autoload(skel->progs.droplab_kfree_skb_btf, use_btf);
  bpf_program__set_autoload(skel->progs.droplab_kfree_skb_raw, !use_btf);
  std::size_t n = 0;
  bpf_program* const* progs = close_progs(skel.get(), n);
  for (std::size_t i = 0; i < n; ++i)
    bpf_program__set_autoload(progs[i], use_fentry);
  if (int err = dropreason_bpf__load(skel.get()); err != 0) {
    error = fmt::format("load: {}{}", std::strerror(-err), last_libbpf_message());
    return nullptr;
  }
  return skel;
}

} // namespace

std::string reason_name(const ReasonNames& names, std::uint32_t id) {
  auto it = names.find(id);
  return it != names.end() ? it->second : fmt::format("reason#{}", id);
}

ReasonNames reason_names_from_btf() {
  libbpf_set_print(capture_libbpf_print);
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) throw BackendUnavailable(fmt::format("no kernel BTF: {}", std::strerror(errno)));
  ReasonNames names;
  const int id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
  if (id > 0) {
    const btf_type* t = btf__type_by_id(vmlinux, static_cast<__u32>(id));
    const struct btf_enum* e = btf_enum(t);
    constexpr std::string_view kPrefix = "SKB_DROP_REASON_";
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
      std::string_view name = btf__name_by_offset(vmlinux, e[i].name_off);
      if (name.substr(0, kPrefix.size()) != kPrefix) continue; // SKB_NOT_DROPPED_YET, SKB_CONSUMED
      name.remove_prefix(kPrefix.size());
      names.emplace(static_cast<std::uint32_t>(e[i].val), std::string(name));
    }
  }
  btf__free(vmlinux);
  if (names.empty())
    throw BackendUnavailable(
        "kernel BTF has no enum skb_drop_reason: this kernel's kfree_skb has no reason");
  return names;
}

std::unique_ptr<DropReasonCounter::Backend>
make_bpf_backend(const std::vector<NetnsTarget>& targets, const ReasonNames& names,
                 std::string& description, BpfLoadInfo* info) {
  libbpf_set_print(capture_libbpf_print);
  std::pair<std::uint32_t, std::uint32_t> ids{~0u, ~0u};
  for (const auto& [id, name] : names) {
    if (name == "NOT_SPECIFIED") ids.first = id;
    if (name == "QUEUE_PURGE") ids.second = id;
  }
  // Tried in order: tp_btf with the socket-close fentry programs (attribute a closing
  // socket's queue to its namespace), tp_btf alone, raw_tp alone; each tp_btf variant
  // first with the rx_sk argument (Linux >= 6.11), then without (5.17..6.10).
  std::string fentry_error, btf_error, raw_error;
  bool use_btf = true, use_fentry = true, use_rx_sk = true;
  Skel skel;
  for (bool fentry : {true, false}) {
    for (bool rx_sk : {true, false}) {
      skel = load(true, fentry, rx_sk, targets, ids, fentry ? fentry_error : btf_error);
      if (skel) {
        use_fentry = fentry;
        use_rx_sk = rx_sk;
        break;
      }
    }
    if (skel) break;
  }
  if (!skel) {
    use_btf = false;
    skel = load(false, false, false, targets, ids, raw_error);
  }
  if (!skel)
    throw BackendUnavailable(
        fmt::format("BPF tp_btf/kfree_skb {}; raw_tp/kfree_skb {}", btf_error, raw_error));
  bpf_program* prog =
      use_btf ? skel->progs.droplab_kfree_skb_btf : skel->progs.droplab_kfree_skb_raw;
  // The link is held only by this process (never pinned in bpffs): when the process exits,
  // SIGKILL included, the kernel closes the fd and detaches the program. Nothing to recover.
  Link link(bpf_program__attach(prog));
  if (!link)
    throw BackendUnavailable(fmt::format("BPF attach {}/kfree_skb: {}{}",
                                         use_btf ? "tp_btf" : "raw_tp", std::strerror(errno),
                                         last_libbpf_message()));
  std::vector<Link> close_links;
  if (use_fentry) {
    std::size_t n = 0;
    bpf_program* const* progs = close_progs(skel.get(), n);
    for (std::size_t i = 0; i < n && use_fentry; ++i) {
      Link l(bpf_program__attach(progs[i]));
      if (!l) {
        fentry_error =
            fmt::format("attach {}: {}", bpf_program__name(progs[i]), std::strerror(errno));
        use_fentry = false;
        close_links.clear();
      } else {
        close_links.push_back(std::move(l));
      }
    }
  }
  description =
      fmt::format("{}/kfree_skb attached{}", use_btf ? "tp_btf" : "raw_tp",
                  use_rx_sk ? ", namespace from rx_sk or skb->dev" : ", namespace from skb->dev");
  description +=
      use_fentry ? ", fentry on udp_destruct_common/inet_sock_destruct (socket-close frees "
                   "attributed to their namespace)"
                 : fmt::format(", socket-close frees counted host-wide (fentry unavailable: {})",
                               fentry_error);
  if (!use_btf) description += fmt::format(" (tp_btf failed: {})", btf_error);
  if (info) *info = {use_btf, use_rx_sk, use_fentry, btf_error, fentry_error};
  return std::make_unique<BpfBackend>(std::move(skel), std::move(link), std::move(close_links),
                                      names);
}

} // namespace droplab::dropreason
