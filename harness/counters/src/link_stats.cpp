#include "droplab/counters/link_stats.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "rtnl.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <utility>

namespace droplab::counters {

namespace {

// include/uapi/linux/if_link.h, struct rtnl_link_stats64. IFLA_STATS64 itself dates
// from 2.6.35; rx_nohandler came with 6e7333d315a7 (4.6), rx_otherhost_dropped with
// 794c24e9921f (5.19).
constexpr LinkStatsField kFields[] = {
    {"rx_packets", ""},
    {"tx_packets", ""},
    {"rx_bytes", ""},
    {"tx_bytes", ""},
    {"rx_errors", ""},
    {"tx_errors", ""},
    {"rx_dropped", ""},
    {"tx_dropped", ""},
    {"multicast", ""},
    {"collisions", ""},
    {"rx_length_errors", ""},
    {"rx_over_errors", ""},
    {"rx_crc_errors", ""},
    {"rx_frame_errors", ""},
    {"rx_fifo_errors", ""},
    {"rx_missed_errors", ""},
    {"tx_aborted_errors", ""},
    {"tx_carrier_errors", ""},
    {"tx_fifo_errors", ""},
    {"tx_heartbeat_errors", ""},
    {"tx_window_errors", ""},
    {"rx_compressed", ""},
    {"tx_compressed", ""},
    {"rx_nohandler", "Linux 4.6"},
    {"rx_otherhost_dropped", "Linux 5.19"},
};

std::string where(const std::string& ns) {
  return ns.empty() ? "in the caller's netns" : "in netns " + ns;
}

} // namespace

std::span<const LinkStatsField> link_stats64_fields() {
  return kFields;
}

LinkMessage decode_link_message(std::span<const std::byte> msg, const std::string& origin) {
  const auto* h = reinterpret_cast<const nlmsghdr*>(msg.data());
  int len = static_cast<int>(msg.size());
  if (!mnl_nlmsg_ok(h, len)) throw ParseError(origin, 0, "truncated netlink message");
  if (h->nlmsg_type != RTM_NEWLINK)
    throw ParseError(
        origin, 0, "netlink message type " + std::to_string(h->nlmsg_type) + " is not RTM_NEWLINK");
  if (h->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg)))
    throw ParseError(origin, 0, "RTM_NEWLINK shorter than struct ifinfomsg");
  LinkMessage out;
  out.ifindex = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(h))->ifi_index;
  struct Ctx {
    LinkMessage* out;
    bool bad;
  } ctx{&out, false};
  int rc = mnl_attr_parse(
      h, sizeof(ifinfomsg),
      [](const nlattr* a, void* data) -> int {
        auto* c = static_cast<Ctx*>(data);
        const auto* p = static_cast<const std::byte*>(mnl_attr_get_payload(a));
        const auto n = mnl_attr_get_payload_len(a);
        switch (mnl_attr_get_type(a)) {
        case IFLA_IFNAME:
          if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) {
            c->bad = true;
            return MNL_CB_ERROR;
          }
          c->out->ifname = mnl_attr_get_str(a);
          break;
        case IFLA_STATS64: c->out->stats64.emplace(p, p + n); break;
        default: break;
        }
        return MNL_CB_OK;
      },
      &ctx);
  if (rc < 0 || ctx.bad) throw ParseError(origin, 0, "malformed RTM_NEWLINK attribute");
  return out;
}

void add_link_counters(Snapshot& out, const std::string& role,
                       const std::optional<std::vector<std::byte>>& stats64,
                       const std::string& source) {
  const std::string prefix = role + ".link.";
  std::size_t i = 0;
  for (const LinkStatsField& f : kFields) {
    const std::size_t end = (i + 1) * sizeof(std::uint64_t);
    if (!stats64) {
      out.add_unavailable(prefix + f.name, source, "no IFLA_STATS64 in the RTM_NEWLINK reply");
    } else if (stats64->size() < end) {
      std::string why = "IFLA_STATS64 from this kernel is " + std::to_string(stats64->size()) +
                        " bytes; " + f.name + " needs " + std::to_string(end);
      if (f.since[0]) why += std::string(" (added in ") + f.since + ")";
      out.add_unavailable(prefix + f.name, source, why);
    } else {
      std::uint64_t v;
      std::memcpy(&v, stats64->data() + i * sizeof v, sizeof v); // host byte order
      out.add(prefix + f.name, source, v);
    }
    ++i;
  }
}

LinkStatsCollector::LinkStatsCollector(std::string role, std::string netns, std::string ifname)
    : role_(std::move(role)), netns_(std::move(netns)), ifname_(std::move(ifname)) {}

std::string LinkStatsCollector::name() const {
  return "link(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", dev " + ifname_ + ")";
}

void LinkStatsCollector::collect(Snapshot& out) {
  const std::string source =
      "rtnetlink RTM_GETLINK IFLA_STATS64 " + where(netns_) + ", dev " + ifname_;
  detail::RtnlReply reply;
  in_netns(netns_, [&] {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* req = mnl_nlmsg_put_header(buf.data());
    req->nlmsg_type = RTM_GETLINK;
    req->nlmsg_flags = NLM_F_REQUEST;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(req, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(req, IFLA_IFNAME, ifname_.c_str());
    reply = detail::rtnl_exchange(req, "RTM_GETLINK " + ifname_);
  });
  auto all_unavailable = [&](const std::string& reason) {
    for (const LinkStatsField& f : kFields)
      out.add_unavailable(role_ + ".link." + f.name, source, reason);
  };
  if (reply.err) return all_unavailable(reply.error);
  if (reply.messages.size() != 1) return all_unavailable("RTM_GETLINK " + ifname_ + ": no reply");
  try {
    LinkMessage m = decode_link_message(reply.messages[0], source);
    add_link_counters(out, role_, m.stats64, source);
  } catch (const ParseError& e) {
    all_unavailable(e.what());
  }
}

} // namespace droplab::counters
