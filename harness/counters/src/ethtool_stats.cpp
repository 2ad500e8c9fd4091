#include "droplab/counters/ethtool_stats.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "droplab/fd.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace droplab::counters {

namespace {

// ethtool's variable-length requests end in a flexible array: allocate as u64 for
// alignment and view the head as the request struct.
template <typename T> struct EthtoolBuf {
  explicit EthtoolBuf(std::size_t tail_bytes) : words((sizeof(T) + tail_bytes + 7) / 8 + 1, 0) {}
  T* get() { return reinterpret_cast<T*>(words.data()); }
  std::vector<std::uint64_t> words;
};

struct Raw {
  std::vector<std::string> names;
  std::vector<std::uint64_t> values;
  std::string error; // non-empty on failure
};

Raw read_stats(const std::string& ifname, const std::string& origin) {
  Raw r;
  auto fail = [&](const char* what, int err) {
    r.error = std::string("SIOCETHTOOL ") + what + " on " + ifname + ": " +
              std::generic_category().message(err);
    return r;
  };
  droplab::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail("socket(AF_INET, SOCK_DGRAM)", errno);
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  auto ioctl = [&](void* data) {
    ifr.ifr_data = static_cast<char*>(data);
    return ::ioctl(fd.get(), SIOCETHTOOL, &ifr);
  };

  EthtoolBuf<ethtool_sset_info> info(sizeof(std::uint32_t));
  info.get()->cmd = ETHTOOL_GSSET_INFO;
  info.get()->sset_mask = 1ULL << ETH_SS_STATS;
  if (ioctl(info.get()) != 0) return fail("ETHTOOL_GSSET_INFO", errno);
  if (!(info.get()->sset_mask & (1ULL << ETH_SS_STATS))) {
    r.error = "driver of " + ifname + " has no ethtool statistics (ETH_SS_STATS)";
    return r;
  }
  const std::uint32_t n = info.get()->data[0];
  if (n == 0) {
    r.error = "driver of " + ifname + " reports 0 ethtool statistics";
    return r;
  }

  EthtoolBuf<ethtool_gstrings> strings(std::size_t{n} * ETH_GSTRING_LEN);
  strings.get()->cmd = ETHTOOL_GSTRINGS;
  strings.get()->string_set = ETH_SS_STATS;
  strings.get()->len = n;
  if (ioctl(strings.get()) != 0) return fail("ETHTOOL_GSTRINGS", errno);

  EthtoolBuf<ethtool_stats> stats(std::size_t{n} * sizeof(std::uint64_t));
  stats.get()->cmd = ETHTOOL_GSTATS;
  stats.get()->n_stats = n;
  if (ioctl(stats.get()) != 0) return fail("ETHTOOL_GSTATS", errno);
  // The count can change between calls (queues reconfigured): refuse to mislabel.
  if (strings.get()->len != n || stats.get()->n_stats != n) {
    r.error = "ethtool statistics count of " + ifname + " changed while reading";
    return r;
  }
  r.names = decode_ethtool_strings(
      std::span<const char>(reinterpret_cast<const char*>(strings.get()->data),
                            std::size_t{n} * ETH_GSTRING_LEN),
      n, origin);
  r.values.assign(stats.get()->data, stats.get()->data + n);
  return r;
}

} // namespace

std::vector<std::string> decode_ethtool_strings(std::span<const char> data, std::size_t count,
                                                const std::string& origin) {
  if (data.size() < count * ETH_GSTRING_LEN)
    throw ParseError(origin, 0,
                     "ETHTOOL_GSTRINGS data has " + std::to_string(data.size()) + " bytes for " +
                         std::to_string(count) + " names of " + std::to_string(ETH_GSTRING_LEN));
  std::vector<std::string> names;
  names.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const char* s = data.data() + i * ETH_GSTRING_LEN;
    names.emplace_back(s, ::strnlen(s, ETH_GSTRING_LEN));
  }
  return names;
}

void add_ethtool_counters(Snapshot& out, const std::string& role,
                          const std::vector<std::string>& names,
                          const std::vector<std::uint64_t>& values, const std::string& source) {
  if (names.size() != values.size())
    throw std::invalid_argument("ethtool: " + std::to_string(names.size()) + " names for " +
                                std::to_string(values.size()) + " values");
  for (std::size_t i = 0; i < names.size(); ++i) {
    // veth's peer_ifindex is an identity, not an event count.
    const Kind kind = names[i] == "peer_ifindex" ? Kind::Gauge : Kind::Counter;
    out.add(role + ".ethtool." + names[i], source, values[i], kind);
  }
}

EthtoolStatsCollector::EthtoolStatsCollector(std::string role, std::string netns,
                                             std::string ifname)
    : role_(std::move(role)), netns_(std::move(netns)), ifname_(std::move(ifname)) {}

std::string EthtoolStatsCollector::name() const {
  return "ethtool(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", dev " + ifname_ + ")";
}

void EthtoolStatsCollector::collect(Snapshot& out) {
  const std::string source =
      "SIOCETHTOOL ETHTOOL_GSTATS " +
      std::string(netns_.empty() ? "in the caller's netns" : "in netns " + netns_) + ", dev " +
      ifname_;
  Raw r;
  in_netns(netns_, [&] {
    try {
      r = read_stats(ifname_, source);
    } catch (const ParseError& e) {
      r.error = e.what();
    }
  });
  if (!r.error.empty()) {
    out.add_unavailable(role_ + ".ethtool", source, r.error);
    return;
  }
  add_ethtool_counters(out, role_, r.names, r.values, source);
}

} // namespace droplab::counters
