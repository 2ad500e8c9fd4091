#include "droplab/payload.hpp"
#include "droplab/sink/accounting.hpp"
#include "droplab/sink/seq_tracker.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace droplab::sink;

namespace {

constexpr std::uint64_t k2p32 = std::uint64_t{1} << 32;

struct SeqCase {
  std::string name;
  std::vector<std::uint32_t> seqs;
  std::uint64_t received = 0;
  std::int64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;
  std::uint64_t stale = 0;
  std::optional<std::uint64_t> highest;
};

TEST(SeqTracker, TableOfSequences) {
  const SeqCase cases[] = {
      {.name = "empty", .seqs = {}, .highest = std::nullopt},
      {.name = "in order", .seqs = {0, 1, 2, 3}, .received = 4, .highest = 3},
      {.name = "one gap", .seqs = {0, 1, 4, 5}, .received = 4, .lost = 2, .highest = 5},
      // The generator starts at 0: a first packet at 3 means 0..2 were lost.
      {.name = "head loss", .seqs = {3, 4}, .received = 2, .lost = 3, .highest = 4},
      {.name = "duplicate", .seqs = {0, 1, 1, 2}, .received = 4, .duplicates = 1, .highest = 2},
      {.name = "duplicate of the highest after a gap",
       .seqs = {0, 5, 5},
       .received = 3,
       .lost = 4,
       .duplicates = 1,
       .highest = 5},
      {.name = "swapped pair", .seqs = {0, 2, 1, 3}, .received = 4, .reordered = 1, .highest = 3},
      {.name = "late then duplicated",
       .seqs = {0, 3, 1, 1, 2},
       .received = 5,
       .duplicates = 1,
       .reordered = 2,
       .highest = 3},
      {.name = "reversed", .seqs = {4, 3, 2, 1, 0}, .received = 5, .reordered = 4, .highest = 4},
      // Head loss up to 0xFFFFFFFE, then in order across 2^32.
      {.name = "wrap in order",
       .seqs = {0xFFFFFFFEU, 0xFFFFFFFFU, 0, 1},
       .received = 4,
       .lost = 0xFFFFFFFELL,
       .highest = k2p32 + 1},
      {.name = "wrap with a gap",
       .seqs = {0xFFFFFFFEU, 1},
       .received = 2,
       .lost = 0xFFFFFFFELL + 2,
       .highest = k2p32 + 1},
  };
  for (const SeqCase& c : cases) {
    SeqTracker t;
    for (std::uint32_t s : c.seqs)
      t.add(s);
    const FlowCounts& got = t.counts();
    EXPECT_EQ(got.received, c.received) << c.name;
    EXPECT_EQ(got.lost, c.lost) << c.name;
    EXPECT_EQ(got.duplicates, c.duplicates) << c.name;
    EXPECT_EQ(got.reordered, c.reordered) << c.name;
    EXPECT_EQ(got.stale, c.stale) << c.name;
    EXPECT_EQ(got.highest_seq, c.highest) << c.name;
  }
}

TEST(SeqTracker, OutcomesAreReported) {
  SeqTracker t;
  EXPECT_EQ(t.add(0), SeqOutcome::InOrder);
  EXPECT_EQ(t.add(2), SeqOutcome::Gap);
  EXPECT_EQ(t.add(1), SeqOutcome::Reordered);
  EXPECT_EQ(t.add(1), SeqOutcome::Duplicate);
  EXPECT_EQ(t.add(3), SeqOutcome::InOrder);
}

// Walks one flow all the way up to the wrap: feeding 2^32 packets is too
// slow, so the tracker is brought near the top with one big jump (counted as
// lost) and the assertions are about what happens at the wrap.
TEST(SeqTracker, ExtendsAcrossTheWrap) {
  SeqTracker t;
  t.add(0xFFFFFFF0U); // lost 0..0xFFFFFFEF
  const std::int64_t lost0 = 0xFFFFFFF0LL;
  ASSERT_EQ(t.counts().lost, lost0);
  for (std::uint32_t s = 0xFFFFFFF1U; s != 0x10U; ++s) {
    EXPECT_NE(t.add(s), SeqOutcome::Gap) << s;
  }
  EXPECT_EQ(t.counts().highest_seq, k2p32 + 0xF);
  EXPECT_EQ(t.counts().lost, lost0);
  EXPECT_EQ(t.extend(0x10U), k2p32 + 0x10);
  EXPECT_EQ(t.extend(0xFFFFFFFFU), k2p32 - 1); // just below the wrap, last lap
}

TEST(SeqTracker, GapReorderAndDuplicateAcrossTheWrap) {
  SeqTracker t;
  t.add(0xFFFFFFFDU);
  const std::int64_t lost0 = t.counts().lost;
  t.add(0xFFFFFFFEU);
  t.add(1);           // skips 0xFFFFFFFF and 0 (2^32 - 1, 2^32)
  t.add(0);           // late: reordered
  t.add(0xFFFFFFFEU); // duplicate from the previous lap
  t.add(2);
  const FlowCounts& c = t.counts();
  EXPECT_EQ(c.received, 6u);
  EXPECT_EQ(c.lost, lost0 + 1); // only 0xFFFFFFFF is still missing
  EXPECT_EQ(c.reordered, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.highest_seq, k2p32 + 2);
}

TEST(SeqTracker, OlderThanTheWindowIsStale) {
  SeqTracker t;
  const std::uint32_t top = 3 * SeqTracker::kWindow;
  for (std::uint32_t s = 0; s <= top; ++s) {
    if (s != 5) t.add(s); // 5 goes missing
  }
  ASSERT_EQ(t.counts().lost, 1);
  EXPECT_EQ(t.add(5), SeqOutcome::Stale);  // far behind: cannot say if new
  EXPECT_EQ(t.add(10), SeqOutcome::Stale); // a duplicate, but too old to know
  EXPECT_EQ(t.add(top - 1), SeqOutcome::Duplicate);
  // The window is the kWindow sequences ending at the highest: top+1-kWindow
  // is the oldest still tracked, one below it is stale.
  const auto oldest = static_cast<std::uint32_t>(top + 1 - SeqTracker::kWindow);
  EXPECT_EQ(t.add(oldest), SeqOutcome::Duplicate);
  EXPECT_EQ(t.add(oldest), SeqOutcome::Duplicate);
  EXPECT_EQ(t.add(oldest - 1), SeqOutcome::Stale);
  const FlowCounts& c = t.counts();
  EXPECT_EQ(c.stale, 3u);
  EXPECT_EQ(c.lost, 1); // a stale packet does not undo a loss
  EXPECT_EQ(c.duplicates, 3u);
}

TEST(SeqTracker, JumpWiderThanTheWindowForgetsOldBits) {
  SeqTracker t;
  for (std::uint32_t s = 0; s < 10; ++s)
    t.add(s);
  const std::uint32_t far = 10 + 5 * SeqTracker::kWindow;
  t.add(far);
  // Sequences just below `far` share bitmap slots with 0..9: they must read
  // as holes (reordered), not as duplicates.
  EXPECT_EQ(t.add(far - static_cast<std::uint32_t>(SeqTracker::kWindow) + 1),
            SeqOutcome::Reordered);
  EXPECT_EQ(t.add(far - 1), SeqOutcome::Reordered);
  EXPECT_EQ(t.counts().lost, static_cast<std::int64_t>(far - 10 - 2));
}

TEST(SeqTracker, BeforeSequenceZeroIsStale) {
  SeqTracker t;
  t.add(3);
  EXPECT_EQ(t.add(0xFFFFFFFFU), SeqOutcome::Stale); // would be -1
  EXPECT_EQ(t.counts().highest_seq, 3u);
}

std::array<std::byte, 32> datagram(std::uint16_t flow, std::uint32_t seq) {
  std::array<std::byte, 32> b{};
  droplab::encode_payload({.flow = flow, .seq = seq, .send_ns = 1}, b);
  return b;
}

TEST(Accounting, SplitsFlowsAndCountsInvalid) {
  Accounting acc;
  for (std::uint32_t s : {0U, 1U, 3U})
    acc.add(datagram(7, s), 32);
  for (std::uint32_t s : {0U, 0U})
    acc.add(datagram(2, s), 32);
  std::array<std::byte, 32> junk{};
  acc.add(junk, 32);                    // no magic
  acc.add(datagram(9, 0), 10);          // shorter than a header
  acc.add(std::span(junk).first(0), 0); // empty datagram

  Totals t = acc.totals();
  EXPECT_EQ(t.received, 8u);
  EXPECT_EQ(t.valid, 5u);
  EXPECT_EQ(t.invalid, 3u);
  EXPECT_EQ(t.bytes, 6u * 32 + 10);
  EXPECT_EQ(t.lost, 1);
  EXPECT_EQ(t.duplicates, 1u);
  ASSERT_EQ(acc.flows().size(), 2u);
  EXPECT_EQ(acc.flows().begin()->first, 2); // ordered by flow id
  EXPECT_EQ(acc.flows().at(7).counts().highest_seq, 3u);
}

} // namespace
