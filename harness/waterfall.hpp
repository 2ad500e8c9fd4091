// Attribution: from the counter deltas of one run and the generator's and
// sink's own reports, where each packet the generator sent ended up — the
// drop waterfall. Plain values in, plain values out; no I/O.
#pragma once

#include "gen_pace.hpp"
#include "reasons.hpp"

#include "droplab/counters/snapshot.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

struct Evidence {
  std::string counter;
  std::string source;
  std::optional<std::int64_t> delta; // nullopt: unavailable
  std::string unavailable_reason;
  bool is_drop = false; // summed into the stage's dropped
  std::string note;
};

// Two sources that must agree; when they do not, both are shown with the difference.
struct Check {
  std::string what;
  std::int64_t expected = 0;
  std::optional<std::int64_t> observed;
  std::string observed_counter;
  std::optional<std::int64_t> difference() const {
    if (!observed) return std::nullopt;
    return *observed - expected;
  }
};

struct Stage {
  std::string name;  // canonical name (profile expect uses it)
  std::string label; // "queued on the socket"
  std::uint64_t in = 0;
  std::uint64_t dropped = 0;
  bool dropped_complete = true; // false: a drop counter was unavailable
  std::vector<Evidence> evidence;
  std::vector<Check> checks;
  std::vector<std::string> knobs; // with current values, when the stage dropped
  std::vector<std::string> notes;
  std::string hint; // for a stage with drops: what happened and which knob governs it
  std::uint64_t out() const { return in >= dropped ? in - dropped : 0; }
};

struct Accounting {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::int64_t unexplained = 0; // sent - delivered - dropped; shown always
  std::vector<std::string> unavailable; // counters that could have explained more
  std::optional<std::uint64_t> sequence_lost; // sink gaps + tail, vs the generator's sequences
};

struct Waterfall {
  std::vector<Stage> stages;
  Accounting accounting;
  const Stage* find(const std::string& name) const;
};

// What the generator and sink reported (their --json files), reduced to what
// attribution needs.
struct FlowCounts {
  std::uint16_t flow = 0;
  std::uint64_t gen_sent = 0;               // the generator's next_seq for this flow
  std::optional<std::uint64_t> sink_highest; // highest sequence the sink read
  std::uint64_t sink_lost = 0;              // the sink's gap count
};

// What the harness configured in the lab, so attribution knows which
// counters can move: a lab namespace without nftables rules cannot drop in
// nftables, and saying so is not the same as reading a 0.
struct LabFacts {
  bool nft_rules = false;  // droplab's nftables table in the receiving namespace
  bool conntrack = false;  // conntrack is in use there (a ct rule)
  // Sender and receiver are separate hosts (or at least not one veth pair):
  // the sender's tx_dropped are its own, never the receiver's backlog drops.
  bool separate_hosts = false;
};

struct RunOutcome {
  std::uint64_t gen_sent = 0;
  std::uint64_t gen_send_errors = 0;
  std::optional<GenPace> gen_pace; // nullopt: the generator's report has no pace
  std::uint64_t sink_valid = 0;
  std::uint64_t sink_invalid = 0;
  std::uint64_t sink_duplicates = 0;
  bool sink_hung = false; // the application stopped reading for good (--hang-after)
  std::optional<std::uint64_t> sink_rxq_ovfl;
  std::optional<std::uint64_t> sink_meminfo_drops;
  std::vector<FlowCounts> flows;
};

// A knob that governs a stage, with its value during the run, read by the
// caller: {"socket", "net.core.rmem_max", "4194304"}.
struct Knob {
  std::string stage;
  std::string name;
  std::string value;
};
using KnobValues = std::vector<Knob>;

// Knobs of the receiving NIC (stage "nic_ring"), by the names its hint looks
// up; a knob the caller could not read (veth has no ring, no channels) is
// given as "unavailable" or left out, and the hint says "unavailable".
inline constexpr const char* kKnobRxRing = "rx ring";             // ethtool -g: "1024 (max 8192)"
inline constexpr const char* kKnobChannels = "channels";          // ethtool -l: "8 combined (max 63)"
inline constexpr const char* kKnobCoalescing = "coalescing";      // ethtool -c: "rx-usecs 8, adaptive-rx on"
inline constexpr const char* kKnobRxIrqCpus = "rx IRQ CPUs";      // /proc/interrupts + smp_affinity_list
inline constexpr const char* kKnobNetdevBudget = "net.core.netdev_budget";
inline constexpr const char* kKnobNetdevBudgetUsecs = "net.core.netdev_budget_usecs";

// Every nic_ring note about drops (or received packets) piling up on one
// receive queue starts with this; the hint looks for it.
inline constexpr const char* kQueueImbalanceNote = "uneven over queues: ";

// `reasons` (optional) cross-checks each stage with the kernel's drop reasons
// and places drops that only the socket's own counter saw.
Waterfall build_waterfall(const counters::Delta& delta, const RunOutcome& outcome,
                          const KnobValues& knobs, const LabFacts& facts = {},
                          const DropReasons* reasons = nullptr);

void to_json(nlohmann::json& j, const Evidence& e);
void to_json(nlohmann::json& j, const Check& c);
void to_json(nlohmann::json& j, const Stage& s);
void to_json(nlohmann::json& j, const Accounting& a);

// The human waterfall, one stage per block, the identity last.
std::string render_waterfall(const Waterfall& w);

} // namespace droplab::harness
