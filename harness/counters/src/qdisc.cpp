#include "droplab/counters/qdisc.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "rtnl.hpp"

#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace droplab::counters {

namespace {

struct Ctx {
  QdiscInfo* q;
  bool bad = false;
};

template <typename T> T read_payload(const nlattr* a) {
  T v{};
  std::memcpy(&v, mnl_attr_get_payload(a), sizeof v);
  return v;
}

int stats2_attr(const nlattr* a, void* data) {
  auto* c = static_cast<Ctx*>(data);
  const auto n = mnl_attr_get_payload_len(a);
  switch (mnl_attr_get_type(a)) {
  case TCA_STATS_BASIC: {
    // struct gnet_stats_basic { __u64 bytes; __u32 packets; } (16 bytes with padding).
    if (n < 12) return c->bad = true, MNL_CB_ERROR;
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
    std::uint64_t bytes;
    std::uint32_t packets;
    std::memcpy(&bytes, p, 8);
    std::memcpy(&packets, p + 8, 4);
    c->q->bytes = bytes;
    if (!c->q->packets64) c->q->packets = packets;
    break;
  }
  case TCA_STATS_PKT64: // 64-bit packet count, Linux 5.5 (d0083d98f685)
    if (n < 8) return c->bad = true, MNL_CB_ERROR;
    c->q->packets = read_payload<std::uint64_t>(a);
    c->q->packets64 = true;
    break;
  case TCA_STATS_QUEUE: {
    if (n < sizeof(gnet_stats_queue)) return c->bad = true, MNL_CB_ERROR;
    auto s = read_payload<gnet_stats_queue>(a);
    c->q->queue = QdiscInfo::Queue{.qlen = s.qlen,
                                   .backlog = s.backlog,
                                   .drops = s.drops,
                                   .requeues = s.requeues,
                                   .overlimits = s.overlimits};
    break;
  }
  default: break;
  }
  return MNL_CB_OK;
}

int qdisc_attr(const nlattr* a, void* data) {
  auto* c = static_cast<Ctx*>(data);
  switch (mnl_attr_get_type(a)) {
  case TCA_KIND:
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return c->bad = true, MNL_CB_ERROR;
    c->q->kind = mnl_attr_get_str(a);
    break;
  case TCA_STATS2:
    if (mnl_attr_parse_nested(a, stats2_attr, c) < 0) return c->bad = true, MNL_CB_ERROR;
    break;
  default: break;
  }
  return MNL_CB_OK;
}

std::string where(const std::string& ns) {
  return ns.empty() ? "in the caller's netns" : "in netns " + ns;
}

} // namespace

bool QdiscInfo::is_ingress() const {
  return parent == TC_H_INGRESS; // TC_H_CLSACT is the same value
}

std::string tc_handle(std::uint32_t handle) {
  if (handle == 0) return "";
  char buf[24];
  const unsigned major = TC_H_MAJ(handle) >> 16, minor = TC_H_MIN(handle);
  if (minor)
    std::snprintf(buf, sizeof buf, "%x:%x", major, minor);
  else
    std::snprintf(buf, sizeof buf, "%x:", major);
  return buf;
}

QdiscInfo decode_qdisc_message(std::span<const std::byte> msg, const std::string& origin) {
  const auto* h = reinterpret_cast<const nlmsghdr*>(msg.data());
  int len = static_cast<int>(msg.size());
  if (!mnl_nlmsg_ok(h, len)) throw ParseError(origin, 0, "truncated netlink message");
  if (h->nlmsg_type != RTM_NEWQDISC)
    throw ParseError(origin, 0,
                     "netlink message type " + std::to_string(h->nlmsg_type) +
                         " is not RTM_NEWQDISC");
  if (h->nlmsg_len < mnl_nlmsg_size(sizeof(tcmsg)))
    throw ParseError(origin, 0, "RTM_NEWQDISC shorter than struct tcmsg");
  QdiscInfo q;
  const auto* t = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(h));
  q.ifindex = t->tcm_ifindex;
  q.handle = t->tcm_handle;
  q.parent = t->tcm_parent;
  Ctx ctx{&q};
  if (mnl_attr_parse(h, sizeof(tcmsg), qdisc_attr, &ctx) < 0 || ctx.bad)
    throw ParseError(origin, 0,
                     "malformed RTM_NEWQDISC attribute (qdisc " + tc_handle(q.handle) + ")");
  return q;
}

void add_qdisc_counters(Snapshot& out, const std::string& role,
                        const std::vector<QdiscInfo>& qdiscs, const std::string& source) {
  const std::string prefix = role + ".qdisc.";
  const QdiscInfo* root = nullptr;
  std::string root_name;
  bool have_ingress = false;
  for (const QdiscInfo& q : qdiscs) {
    const std::string name = q.is_ingress() ? "ingress" : (q.handle ? tc_handle(q.handle) : q.kind);
    const std::string p = prefix + name + ".";
    const std::string src = source + ", qdisc " + q.kind + " " +
                            (q.handle ? tc_handle(q.handle) : "0:") +
                            (q.is_ingress() ? " ingress" : "");
    have_ingress |= q.is_ingress();
    if (q.parent == TC_H_ROOT) {
      root = &q;
      root_name = name;
    }
    const char* fields[] = {"packets",  "bytes",   "drops", "overlimits",
                            "requeues", "backlog", "qlen"};
    if (q.kind == "noqueue") {
      for (const char* f : fields)
        out.add_unavailable(
            p + f, src, "noqueue: packets go straight to the device, nothing is counted here",
            f == std::string("backlog") || f == std::string("qlen") ? Kind::Gauge : Kind::Counter);
      continue;
    }
    if (q.packets)
      out.add(p + "packets", src, *q.packets).wrap_bits = q.packets64 ? 64 : 32;
    else
      out.add_unavailable(p + "packets", src, "no TCA_STATS_BASIC in TCA_STATS2");
    if (q.bytes)
      out.add(p + "bytes", src, *q.bytes);
    else
      out.add_unavailable(p + "bytes", src, "no TCA_STATS_BASIC in TCA_STATS2");
    if (q.queue) {
      out.add(p + "drops", src, q.queue->drops).wrap_bits = 32;
      out.add(p + "overlimits", src, q.queue->overlimits).wrap_bits = 32;
      out.add(p + "requeues", src, q.queue->requeues).wrap_bits = 32;
      out.add(p + "backlog", src, q.queue->backlog, Kind::Gauge);
      out.add(p + "qlen", src, q.queue->qlen, Kind::Gauge);
    } else {
      for (const char* f : {"drops", "overlimits", "requeues"})
        out.add_unavailable(p + f, src, "no TCA_STATS_QUEUE in TCA_STATS2");
      for (const char* f : {"backlog", "qlen"})
        out.add_unavailable(p + f, src, "no TCA_STATS_QUEUE in TCA_STATS2", Kind::Gauge);
    }
  }

  // The root's counters already include its children's: a classful root counts a
  // child's enqueue drop itself (htb_enqueue, prio_enqueue) and dequeue-time drops
  // reach the ancestors through qdisc_tree_reduce_backlog(); mq sums its children at
  // dump time. Summing root and children would count each drop twice (measured on
  // 6.18: htb 1: and its pfifo 10: both show the same 3 drops).
  auto add_total = [&](const std::string& field) {
    const std::string key = prefix + field;
    if (!root) {
      out.add_unavailable(key, source, "no root qdisc on the device");
    } else if (root->kind == "noqueue") {
      out.add(key, "noqueue: no queue, nothing to drop (" + source + ")", 0);
    } else {
      const std::string part = prefix + root_name + "." + field;
      if (auto v = out.get(part))
        out.add(key, source + " (root qdisc " + root_name + ", which includes its children)", *v)
            .sum_of = {part};
      else
        out.add_unavailable(key, source,
                            part + " unavailable: " + out.find(part)->unavailable_reason);
    }
  };
  add_total("drops");
  add_total("overlimits");
  if (!have_ingress)
    out.add_unavailable(
        prefix + "ingress.drops", source,
        "no ingress/clsact qdisc on the device (tcx programs have no drop counter)");
}

QdiscCollector::QdiscCollector(std::string role, std::string netns, std::string ifname)
    : role_(std::move(role)), netns_(std::move(netns)), ifname_(std::move(ifname)) {}

std::string QdiscCollector::name() const {
  return "qdisc(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", dev " + ifname_ + ")";
}

void QdiscCollector::collect(Snapshot& out) {
  const std::string source = "rtnetlink RTM_GETQDISC " + where(netns_) + ", dev " + ifname_;
  detail::RtnlReply reply;
  unsigned ifindex = 0;
  int index_err = 0;
  in_netns(netns_, [&] {
    ifindex = ::if_nametoindex(ifname_.c_str());
    if (ifindex == 0) {
      index_err = errno;
      return;
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* req = mnl_nlmsg_put_header(buf.data());
    req->nlmsg_type = RTM_GETQDISC;
    req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* t = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(req, sizeof(tcmsg)));
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = static_cast<int>(ifindex); // newer kernels filter the dump by it
    reply = detail::rtnl_exchange(req, "RTM_GETQDISC dump");
  });
  const std::string p = role_ + ".qdisc.";
  auto all_unavailable = [&](const std::string& reason) {
    for (const char* k : {"drops", "overlimits", "ingress.drops"})
      out.add_unavailable(p + k, source, reason);
  };
  if (index_err)
    return all_unavailable("if_nametoindex(" + ifname_ +
                           "): " + std::generic_category().message(index_err));
  if (reply.err) return all_unavailable(reply.error);
  std::vector<QdiscInfo> mine;
  try {
    for (const auto& m : reply.messages) {
      QdiscInfo q = decode_qdisc_message(m, source);
      if (q.ifindex == static_cast<int>(ifindex)) mine.push_back(std::move(q));
    }
  } catch (const ParseError& e) {
    return all_unavailable(e.what());
  }
  add_qdisc_counters(out, role_, mine, source);
}

} // namespace droplab::counters
