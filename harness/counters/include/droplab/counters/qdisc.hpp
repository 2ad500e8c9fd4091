// Qdisc statistics over rtnetlink: an RTM_GETQDISC dump filtered to one device,
// TCA_STATS2 → TCA_STATS_BASIC (+ TCA_STATS_PKT64) and TCA_STATS_QUEUE.
//
// Keys, <name> being the handle as tc prints it ("1:", "8001:2") or the kind when the
// handle is 0 ("noqueue"), and "ingress" for the ingress/clsact qdisc:
//   <role>.qdisc.<name>.{packets,bytes,drops,overlimits,requeues}  counters
//   <role>.qdisc.<name>.{backlog,qlen}                              gauges
//   <role>.qdisc.{drops,overlimits}   the device's egress total: the root qdisc's
//       counters, which already include its children's (a classful root counts a
//       child's drop too; adding root and children would count it twice), sum_of
//       the root's key
//   <role>.qdisc.ingress.drops        the tc_ingress stage (clsact/ingress "dropped")
// noqueue: packets never enter it, so its counters count nothing and are reported
// unavailable. When the root is noqueue (then it is the device's only egress qdisc),
// <role>.qdisc.{drops,overlimits} are 0 with source "noqueue: no queue, nothing to
// drop" — nothing can drop there.
// Without an ingress/clsact qdisc <role>.qdisc.ingress.drops is unavailable (tcx
// programs attach without a qdisc and have no drop counter).
// The kernel keeps drops, overlimits, requeues and (without TCA_STATS_PKT64) packets
// in 32 bits: those keys have wrap_bits = 32.
#pragma once

#include "droplab/counters/collector.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace droplab::counters {

struct QdiscInfo {
  int ifindex = 0;
  std::uint32_t handle = 0, parent = 0;
  std::string kind; // TCA_KIND
  std::optional<std::uint64_t> bytes, packets;
  bool packets64 = false; // packets came from TCA_STATS_PKT64
  struct Queue {
    std::uint32_t qlen = 0, backlog = 0, drops = 0, requeues = 0, overlimits = 0;
  };
  std::optional<Queue> queue;

  bool is_ingress() const; // parent is TC_H_INGRESS (ingress and clsact)
};

// Decodes one whole RTM_NEWQDISC message. Throws ParseError(origin) when it is not
// one or is truncated.
QdiscInfo decode_qdisc_message(std::span<const std::byte> msg, const std::string& origin);

// "1:", "8001:2", "ffff:" — tc's notation; "" for handle 0.
std::string tc_handle(std::uint32_t handle);

// Adds the keys above for the qdiscs of one device (pure).
void add_qdisc_counters(Snapshot& out, const std::string& role,
                        const std::vector<QdiscInfo>& qdiscs, const std::string& source);

// RTM_GETQDISC dump inside `netns`, keeping the qdiscs of `ifname`.
class QdiscCollector final : public Collector {
public:
  QdiscCollector(std::string role, std::string netns, std::string ifname);
  std::string name() const override;
  void collect(Snapshot& out) override;

private:
  std::string role_, netns_, ifname_;
};

} // namespace droplab::counters
