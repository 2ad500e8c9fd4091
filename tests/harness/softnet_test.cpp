#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/softnet.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

using U32 = std::optional<std::uint32_t>;

struct LayoutCase {
  const char *file;
  std::size_t columns;
  std::vector<unsigned> cpus;
  bool cpu_from_column;
  // Row 0's values; nullopt where the kernel does not print the column.
  U32 processed, dropped, time_squeeze, received_rps, flow_limit_count, backlog_len, input_qlen;
};

TEST(Softnet, ParsesEveryKernelLayout) {
  const LayoutCase cases[] = {
      {.file = "softnet_stat.3.10-10col",
       .columns = 10,
       .cpus = {0, 1},
       .cpu_from_column = false,
       .processed = 0x4d2a1,
       .dropped = 3,
       .time_squeeze = 0x1c,
       .received_rps = 0x11,
       .flow_limit_count = std::nullopt,
       .backlog_len = std::nullopt,
       .input_qlen = std::nullopt},
      {.file = "softnet_stat.4.19-11col",
       .columns = 11,
       .cpus = {0, 1},
       .cpu_from_column = false,
       .processed = 0x4d2a1,
       .dropped = 3,
       .time_squeeze = 0x1c,
       .received_rps = 0x11,
       .flow_limit_count = 5,
       .backlog_len = std::nullopt,
       .input_qlen = std::nullopt},
      // CPU 1 offline: ids come from column 13, not from the row index.
      {.file = "softnet_stat.5.15-13col",
       .columns = 13,
       .cpus = {0, 2, 3},
       .cpu_from_column = true,
       .processed = 0x4d2a1,
       .dropped = 3,
       .time_squeeze = 0x1c,
       .received_rps = 0x11,
       .flow_limit_count = 5,
       .backlog_len = 0,
       .input_qlen = std::nullopt},
      {.file = "softnet_stat.6.8-15col",
       .columns = 15,
       .cpus = {0, 1},
       .cpu_from_column = true,
       .processed = 0x4d2a1,
       .dropped = 3,
       .time_squeeze = 0x1c,
       .received_rps = 0x11,
       .flow_limit_count = 5,
       .backlog_len = 0,
       .input_qlen = 0},
      // Captured on this project's 6.18 machine.
      {.file = "softnet_stat.6.18-15col",
       .columns = 15,
       .cpus = {0, 1},
       .cpu_from_column = true,
       .processed = 0x10,
       .dropped = 0,
       .time_squeeze = 0,
       .received_rps = 0,
       .flow_limit_count = 0,
       .backlog_len = 0,
       .input_qlen = 0},
  };
  for (const auto &c : cases) {
    auto rows = parse_softnet_stat(read_data(c.file), c.file);
    ASSERT_EQ(rows.size(), c.cpus.size()) << c.file;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].cpu, c.cpus[i]) << c.file << " row " << i;
      EXPECT_EQ(rows[i].cpu_from_column, c.cpu_from_column) << c.file;
      EXPECT_EQ(rows[i].columns, c.columns) << c.file;
    }
    const SoftnetRow &r = rows[0];
    EXPECT_EQ(r.processed, c.processed) << c.file;
    EXPECT_EQ(r.dropped, c.dropped) << c.file;
    EXPECT_EQ(r.time_squeeze, c.time_squeeze) << c.file;
    EXPECT_EQ(r.received_rps, c.received_rps) << c.file;
    EXPECT_EQ(r.flow_limit_count, c.flow_limit_count) << c.file;
    EXPECT_EQ(r.backlog_len, c.backlog_len) << c.file;
    EXPECT_EQ(r.input_qlen, c.input_qlen) << c.file;
  }
}

TEST(Softnet, FullWidthValues) {
  auto rows = parse_softnet_stat(read_data("softnet_stat.5.15-13col"), "x");
  EXPECT_EQ(rows[2].processed, U32(0xffffffffu));
  EXPECT_EQ(rows[2].dropped, U32(0xffffu));
  auto rows15 = parse_softnet_stat(read_data("softnet_stat.6.8-15col"), "x");
  EXPECT_EQ(rows15[1].dropped, U32(1000));
  EXPECT_EQ(rows15[1].backlog_len, U32(7));
  EXPECT_EQ(rows15[1].input_qlen, U32(4));
  EXPECT_EQ(rows15[1].process_qlen, U32(3));
}

struct BadCase {
  const char *file;
  std::size_t line;
  const char *message_part;
};

TEST(Softnet, RejectsMalformedFilesNamingFileAndLine) {
  const BadCase cases[] = {
      {.file = "softnet_stat.bad-12col", .line = 1, .message_part = "12 columns"},
      {.file = "softnet_stat.bad-mixed", .line = 2, .message_part = "but line 1 has 13"},
      {.file = "softnet_stat.bad-hex", .line = 1, .message_part = "column 2"},
  };
  for (const auto &c : cases) {
    try {
      parse_softnet_stat(read_data(c.file), c.file);
      ADD_FAILURE() << c.file << " parsed";
    } catch (const ParseError &e) {
      EXPECT_EQ(e.origin(), c.file);
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(std::string(c.file) + ":", 0), 0u) << e.what();
    }
  }
}

TEST(Softnet, EmptyFileHasNoRows) {
  EXPECT_TRUE(parse_softnet_stat("", "x").empty());
}

} // namespace
