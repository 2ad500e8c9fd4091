// The kfree_skb reason-name reader on format files of several kernel versions.
#include "droplab/dropreason/parse_error.hpp"
#include "droplab/dropreason/reason_names.hpp"
#include "test_data.hpp"

#include <gtest/gtest.h>

namespace droplab::dropreason {
namespace {

using test::read_data;

struct Known {
  const char* file;
  std::size_t size;
  std::uint32_t id;
  const char* name;
};

TEST(ReasonNamesTest, ReadsTheSymbolTableOfEachKernel) {
  const Known cases[] = {
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 2, .name = "NOT_SPECIFIED"},
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 3, .name = "NO_SOCKET"},
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 6, .name = "SOCKET_RCVBUFF"},
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 71, .name = "CPU_BACKLOG"},
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 104, .name = "QUEUE_PURGE"},
      {.file = "kfree_skb.format.6.18", .size = 127, .id = 128, .name = "MAX"},
      {.file = "kfree_skb.format.5.17", .size = 7, .id = 0, .name = "NOT_SPECIFIED"},
      {.file = "kfree_skb.format.5.17", .size = 7, .id = 1, .name = "NO_SOCKET"},
      {.file = "kfree_skb.format.5.17", .size = 7, .id = 5, .name = "UDP_CSUM"},
  };
  for (const Known& c : cases) {
    SCOPED_TRACE(c.file);
    const auto names = parse_kfree_skb_reasons(read_data(c.file), c.file);
    EXPECT_EQ(names.size(), c.size);
    ASSERT_TRUE(names.count(c.id)) << c.id;
    EXPECT_EQ(names.at(c.id), c.name);
  }
}

TEST(ReasonNamesTest, KernelsWithoutReasonAreUnavailable) {
  for (const char* file : {"kfree_skb.format.5.15", "kfree_skb.format.symbolic-unevaluated"}) {
    SCOPED_TRACE(file);
    try {
      parse_kfree_skb_reasons(read_data(file), file);
      FAIL() << "expected ParseError";
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find("unavailable: this kernel's kfree_skb has no reason"),
                std::string::npos)
          << e.what();
      EXPECT_EQ(e.origin(), file);
    }
  }
}

TEST(ReasonNamesTest, MalformedListsNameTheOrigin) {
  const struct {
    const char* file;
    const char* message;
  } cases[] = {
      {.file = "kfree_skb.format.bad-missing-comma",
       .message = "expected ',' or ')' after an entry"},
      {.file = "kfree_skb.format.bad-unterminated", .message = "unterminated list"},
      {.file = "kfree_skb.format.bad-id", .message = "is not a number"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    try {
      parse_kfree_skb_reasons(read_data(c.file), c.file);
      FAIL() << "expected ParseError";
    } catch (const ParseError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(std::string(c.file) + ": ", 0), 0u) << what;
      EXPECT_NE(what.find(c.message), std::string::npos) << what;
    }
  }
  EXPECT_THROW(parse_kfree_skb_reasons("name: kfree_skb\n", "x"), ParseError);
}

} // namespace
} // namespace droplab::dropreason
