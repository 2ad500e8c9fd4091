#include "gen/flow_schedule.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

using droplab::gen::ErrnoCounts;
using droplab::gen::FlowSchedule;
using droplab::gen::kTxNotTried;
using droplab::gen::kTxSent;
using droplab::gen::TxMessage;

namespace {

struct Expected {
  std::uint16_t flow;
  std::uint32_t first_seq;
  std::size_t n;
};

void expect_batch(std::span<const TxMessage> got, Expected e) {
  ASSERT_EQ(got.size(), e.n);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].flow, e.flow) << "message " << i;
    EXPECT_EQ(got[i].seq, e.first_seq + i) << "message " << i;
    EXPECT_EQ(got[i].payload_bytes, 18u);
  }
}

TEST(FlowSchedule, RoundRobinByBatchWithPerFlowSequences) {
  FlowSchedule s(3);
  std::vector<TxMessage> buf(32);
  const Expected steps[] = {
      {.flow = 0, .first_seq = 0, .n = 4},  {.flow = 1, .first_seq = 0, .n = 4},
      {.flow = 2, .first_seq = 0, .n = 1},  {.flow = 0, .first_seq = 4, .n = 32},
      {.flow = 1, .first_seq = 4, .n = 2},  {.flow = 2, .first_seq = 1, .n = 3},
      {.flow = 0, .first_seq = 36, .n = 1},
  };
  for (const auto& e : steps) {
    expect_batch(s.plan(e.n, 18, buf), e);
    s.commit(e.n);
  }
  EXPECT_EQ(s.next_seq(0), 37u);
  EXPECT_EQ(s.next_seq(1), 6u);
  EXPECT_EQ(s.next_seq(2), 4u);
}

TEST(FlowSchedule, PlanIsCappedByTheBuffer) {
  FlowSchedule s(1);
  std::vector<TxMessage> buf(8);
  EXPECT_EQ(s.plan(100, 18, buf).size(), 8u);
}

TEST(FlowSchedule, UnsentMessagesReuseTheirSequenceNumbers) {
  FlowSchedule s(2);
  std::vector<TxMessage> buf(32);
  expect_batch(s.plan(8, 18, buf), {.flow = 0, .first_seq = 0, .n = 8});
  s.commit(3); // the kernel took 0..2; 3 failed, 4..7 were not tried
  expect_batch(s.plan(8, 18, buf), {.flow = 1, .first_seq = 0, .n = 8});
  s.commit(0); // nothing accepted (e.g. ENOBUFS on the first)
  expect_batch(s.plan(8, 18, buf), {.flow = 0, .first_seq = 3, .n = 8});
  s.commit(8);
  expect_batch(s.plan(2, 18, buf), {.flow = 1, .first_seq = 0, .n = 2});
  s.commit(2);
  EXPECT_EQ(s.next_seq(0), 11u);
  EXPECT_EQ(s.next_seq(1), 2u);
}

TEST(FlowSchedule, HeaderSequenceWrapsAt32Bits) {
  FlowSchedule s(1);
  std::vector<TxMessage> buf(2);
  s.commit(0xFFFF'FFFFULL);
  auto b = s.plan(2, 18, buf);
  EXPECT_EQ(b[0].seq, 0xFFFF'FFFFu);
  EXPECT_EQ(b[1].seq, 0u);
  s.commit(2);
  EXPECT_EQ(s.next_seq(0), 0x1'0000'0001ULL); // unwrapped in the report
}

TEST(FlowSchedule, RejectsZeroFlows) {
  EXPECT_THROW(FlowSchedule(0), std::invalid_argument);
}

TEST(Tally, CountsTheSentPrefixAndErrnos) {
  ErrnoCounts errors;
  const int outcome[] = {kTxSent, kTxSent, ENOBUFS, kTxNotTried, kTxNotTried};
  auto t = droplab::gen::tally(outcome, errors);
  EXPECT_EQ(t.accepted, 2u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(errors.at(ENOBUFS), 1u);

  const int all_failed[] = {EAGAIN, kTxNotTried};
  t = droplab::gen::tally(all_failed, errors);
  EXPECT_EQ(t.accepted, 0u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(errors.at(EAGAIN), 1u);
  EXPECT_EQ(errors.at(ENOBUFS), 1u);
}

TEST(Tally, RejectsASendAfterAFailure) {
  ErrnoCounts errors;
  const int outcome[] = {kTxSent, ENOBUFS, kTxSent};
  EXPECT_THROW(droplab::gen::tally(outcome, errors), std::logic_error);
}

} // namespace
