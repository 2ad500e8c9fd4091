#include "droplab/counters/snapshot.hpp"
#include "droplab/counters/snapshot_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

using namespace droplab::counters;

namespace {

Snapshot snap(std::uint64_t t) {
  Snapshot s;
  s.taken_mono_ns = t;
  return s;
}

TEST(Snapshot, GetIsEmptyForUnavailableAndMissingKeys) {
  Snapshot s = snap(1);
  s.add("rx.snmp.Udp.NoPorts", "test", 0);
  s.add_unavailable("rx.softnet.cpu0.flow_limit_count", "test", "not printed");
  EXPECT_EQ(s.get("rx.snmp.Udp.NoPorts"), std::optional<std::uint64_t>(0)); // 0 is a value
  EXPECT_EQ(s.get("rx.softnet.cpu0.flow_limit_count"), std::nullopt);
  EXPECT_EQ(s.get("no.such.key"), std::nullopt);
  EXPECT_THROW(s.add_unavailable("k", "test", ""), std::invalid_argument);
}

struct DiffCase {
  const char *name;
  std::optional<std::uint64_t> before; // nullopt: unavailable with reason "gone"
  std::optional<std::uint64_t> after;
  Kind kind = Kind::Counter;
  unsigned wrap_bits = 64;
  std::optional<std::uint64_t> want;
  const char *want_reason = "";
};

TEST(Diff, PerKeySemantics) {
  const DiffCase cases[] = {
      {.name = "grows", .before = 10, .after = 15, .want = 5},
      {.name = "unchanged is zero, not unavailable", .before = 7, .after = 7, .want = 0},
      {.name = "backwards",
       .before = 15,
       .after = 10,
       .want = std::nullopt,
       .want_reason = "counter went backwards"},
      {.name = "before unavailable",
       .before = std::nullopt,
       .after = 3,
       .want = std::nullopt,
       .want_reason = "before: gone"},
      {.name = "after unavailable",
       .before = 3,
       .after = std::nullopt,
       .want = std::nullopt,
       .want_reason = "after: gone"},
      {.name = "both unavailable keeps one reason",
       .before = std::nullopt,
       .after = std::nullopt,
       .want = std::nullopt,
       .want_reason = "gone"},
      {.name = "32-bit wrap", .before = 0xfffffff0, .after = 0x10, .wrap_bits = 32, .want = 0x20},
      {.name = "gauge reports the after level",
       .before = 4096,
       .after = 0,
       .kind = Kind::Gauge,
       .want = 0},
  };
  for (const auto &c : cases) {
    Snapshot b = snap(100), a = snap(200);
    auto put = [&](Snapshot &s, std::optional<std::uint64_t> v) {
      Counter &e =
          v ? s.add("k", "src", *v, c.kind) : s.add_unavailable("k", "src", "gone", c.kind);
      e.wrap_bits = c.wrap_bits;
    };
    put(b, c.before);
    put(a, c.after);
    Delta d = diff(b, a);
    ASSERT_NE(d.find("k"), nullptr) << c.name;
    EXPECT_EQ(d.get("k"), c.want) << c.name;
    EXPECT_EQ(d.find("k")->unavailable_reason, c.want_reason) << c.name;
    EXPECT_EQ(d.from_mono_ns, 100u);
    EXPECT_EQ(d.to_mono_ns, 200u);
  }
}

TEST(Diff, KeyInOnlyOneSnapshotIsUnavailable) {
  Snapshot b = snap(1), a = snap(2);
  b.add("only.before", "src", 1);
  a.add("only.after", "src", 1);
  Delta d = diff(b, a);
  EXPECT_EQ(d.find("only.before")->unavailable_reason, "missing from the after snapshot");
  EXPECT_EQ(d.find("only.after")->unavailable_reason, "missing from the before snapshot");
  EXPECT_FALSE(d.get("only.after"));
}

TEST(Diff, HasNoSideEffects) {
  Snapshot b = snap(1), a = snap(2);
  b.add("k", "src", 10);
  a.add("k", "src", 25);
  nlohmann::json jb = b, ja = a;
  (void)diff(b, a);
  EXPECT_EQ(nlohmann::json(b), jb);
  EXPECT_EQ(nlohmann::json(a), ja);
  EXPECT_EQ(b.get("k"), std::optional<std::uint64_t>(10));
}

// host.softnet.dropped is a sum over CPUs of 32-bit columns: one CPU wrapping must not
// turn the sum's delta into nonsense.
TEST(Diff, SumIsTheSumOfItsPartsDeltasAcrossAWrap) {
  Snapshot b = snap(1), a = snap(2);
  b.add("cpu0", "src", 0xfffffffe).wrap_bits = 32;
  b.add("cpu1", "src", 5).wrap_bits = 32;
  b.add("sum", "src", 0xfffffffeull + 5).sum_of = {"cpu0", "cpu1"};
  a.add("cpu0", "src", 0x3).wrap_bits = 32; // wrapped: +5
  a.add("cpu1", "src", 7).wrap_bits = 32;   // +2
  a.add("sum", "src", 0x3 + 7).sum_of = {"cpu0", "cpu1"};
  Delta d = diff(b, a);
  EXPECT_EQ(d.get("cpu0"), std::optional<std::uint64_t>(5));
  EXPECT_EQ(d.get("sum"), std::optional<std::uint64_t>(7));
}

TEST(Diff, SumWithAnUnavailablePartIsUnavailable) {
  Snapshot b = snap(1), a = snap(2);
  for (Snapshot *s : {&b, &a}) {
    s->add("cpu0", "src", 1);
    s->add("sum", "src", 1).sum_of = {"cpu0", "cpu1"};
  }
  b.add("cpu1", "src", 0);
  a.add_unavailable("cpu1", "src", "cpu offline");
  Delta d = diff(b, a);
  EXPECT_FALSE(d.get("sum"));
  EXPECT_EQ(d.find("sum")->unavailable_reason, "part cpu1: after: cpu offline");
}

TEST(Json, UnavailableIsNullWithReasonAndZeroIsPrinted) {
  Snapshot s = snap(42);
  s.add("zero", "src", 0);
  s.add_unavailable("gone", "src", "open /proc/net/x: No such file or directory");
  nlohmann::json j = s;
  EXPECT_EQ(j["taken_mono_ns"], 42);
  EXPECT_EQ(j["counters"]["zero"]["value"], 0);
  EXPECT_TRUE(j["counters"]["gone"]["value"].is_null());
  EXPECT_EQ(j["counters"]["gone"]["unavailable_reason"],
            "open /proc/net/x: No such file or directory");
  EXPECT_FALSE(j["counters"]["zero"].contains("unavailable_reason"));
}

} // namespace
