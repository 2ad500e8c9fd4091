// The send loop against a scripted backend: which datagrams reach the
// "kernel", with which flow and sequence, under injected send errors.
// Assertions follow from the schedule's arithmetic, never from timing.
#include "gen/run.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <map>
#include <vector>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kSec = 1'000'000'000ULL;

// Accepts or refuses per a script keyed on the call number, and records every
// accepted datagram the way a receiver would see it.
class ScriptedTx final : public TxBackend {
public:
  // fail_at(call) -> {index of the failing message in the batch, errno}; errno 0 = all sent.
  std::function<std::pair<std::size_t, int>(std::size_t)> fail_at = [](std::size_t) {
    return std::pair<std::size_t, int>{0, 0};
  };
  std::map<std::uint16_t, std::vector<std::uint32_t>> received;
  std::size_t calls = 0;
  std::size_t offered = 0; // messages handed to send(), sent or not
  std::size_t max_batch = 0;

  std::string_view name() const override { return "scripted"; }
  std::uint16_t src_port(std::uint32_t flow) const override {
    return static_cast<std::uint16_t>(40000 + flow);
  }
  void send(std::span<const TxMessage> msgs, std::uint64_t, std::span<int> outcome) override {
    auto [bad, err] = fail_at(calls++);
    offered += msgs.size();
    max_batch = std::max(max_batch, msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (err != 0 && i == bad) {
        outcome[i] = err;
      } else if (err != 0 && i > bad) {
        outcome[i] = kTxNotTried;
      } else {
        outcome[i] = kTxSent;
        received[msgs[i].flow].push_back(msgs[i].seq);
      }
    }
  }
};

Config base() {
  Config c;
  c.dst = parse_endpoint("198.18.0.2:9000");
  c.quiet = true;
  c.flows = 3;
  c.batch = 7;
  return c;
}

TEST(SendLoop, CountRunDeliversContiguousSequencesDespiteErrors) {
  Config c = base();
  c.rate = parse_rate("max");
  c.count = 1000;
  c.time_limit_ns = time_limit_ns(std::nullopt, c.count, 0);
  ScriptedTx tx;
  // Every 3rd call: message 2 hits ENOBUFS; every 5th: the first hits EAGAIN.
  tx.fail_at = [&](std::size_t call) -> std::pair<std::size_t, int> {
    if (call % 5 == 4) return {0, EAGAIN};
    if (call % 3 == 2) return {2, ENOBUFS};
    return {0, 0};
  };
  FlowSchedule sched(c.flows);
  std::vector<Interval> intervals;
  RunTotals t = send_loop(c, tx, sched, intervals);

  EXPECT_EQ(t.stopped_by, "count");
  EXPECT_EQ(t.sent, 1000u);
  std::uint64_t total = 0;
  for (std::uint32_t f = 0; f < c.flows; ++f) {
    const auto& seqs = tx.received[static_cast<std::uint16_t>(f)];
    for (std::size_t i = 0; i < seqs.size(); ++i)
      ASSERT_EQ(seqs[i], i) << "flow " << f;
    EXPECT_EQ(sched.next_seq(f), seqs.size());
    total += seqs.size();
  }
  EXPECT_EQ(total, 1000u);
  const std::uint64_t injected = t.errors[EAGAIN] + t.errors[ENOBUFS];
  EXPECT_GT(t.errors[EAGAIN], 0u);
  EXPECT_GT(t.errors[ENOBUFS], 0u);
  EXPECT_EQ(t.failed, injected);
  EXPECT_LE(tx.max_batch, c.batch);
  // Errors are counted in the intervals too, and add up to the totals.
  std::uint64_t iv_sent = 0, iv_errors = 0;
  for (const auto& i : intervals) {
    iv_sent += i.sent;
    for (const auto& [name, n] : i.errors)
      iv_errors += n;
  }
  EXPECT_EQ(iv_sent, 1000u);
  EXPECT_EQ(iv_errors, injected);
}

TEST(SendLoop, PacedRunNeverGetsAheadOfTheSchedule) {
  Config c = base();
  c.rate = parse_rate("1000pps");
  c.duration_ns = 50'000'000; // 50 ms: packets 0..50 can become due
  c.time_limit_ns = *c.duration_ns;
  ScriptedTx tx;
  FlowSchedule sched(c.flows);
  std::vector<Interval> intervals;
  RunTotals t = send_loop(c, tx, sched, intervals);
  EXPECT_EQ(t.stopped_by, "duration");
  EXPECT_GT(t.sent, 0u);
  EXPECT_LE(t.sent, 51u);
}

TEST(SendLoop, ErrorStormDoesNotBecomeACatchUpBurst) {
  Config c = base();
  c.rate = parse_rate("1000pps");
  c.duration_ns = 50'000'000;
  c.time_limit_ns = *c.duration_ns;
  ScriptedTx tx;
  tx.fail_at = [](std::size_t) { return std::pair<std::size_t, int>{0, ENOBUFS}; };
  FlowSchedule sched(c.flows);
  std::vector<Interval> intervals;
  RunTotals t = send_loop(c, tx, sched, intervals);
  EXPECT_EQ(t.sent, 0u);
  EXPECT_EQ(t.failed, tx.calls);
  // Refused slots are used up: no more messages offered than the schedule allows.
  EXPECT_LE(tx.offered, 51u);
  for (std::uint32_t f = 0; f < c.flows; ++f)
    EXPECT_EQ(sched.next_seq(f), 0u);
  // ENOBUFS is a refused send, not a full send buffer.
  EXPECT_EQ(t.pace.send_blocked_ns, 0u);
}

TEST(SendLoop, EagainCountsAsTimeTheSendBufferWasFull) {
  Config c = base();
  c.rate = parse_rate("1000pps");
  c.duration_ns = 50'000'000;
  c.time_limit_ns = *c.duration_ns;
  ScriptedTx tx;
  tx.fail_at = [](std::size_t) { return std::pair<std::size_t, int>{0, EAGAIN}; };
  FlowSchedule sched(c.flows);
  std::vector<Interval> intervals;
  RunTotals t = send_loop(c, tx, sched, intervals);
  EXPECT_EQ(t.sent, 0u);
  // Refused from the first send to the end of the loop.
  EXPECT_GT(t.pace.send_blocked_ns, 0u);
  EXPECT_LE(t.pace.send_blocked_ns, t.pace.loop_ns);
  EXPECT_GE(t.pace.loop_ns, *c.duration_ns);
}

} // namespace
} // namespace droplab::gen
