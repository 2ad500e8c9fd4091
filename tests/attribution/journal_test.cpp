#include "journal.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace droplab::harness;
namespace fs = std::filesystem;

namespace {

class JournalTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/droplab-journal-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::setenv("DROPLAB_JOURNAL_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("DROPLAB_JOURNAL_DIR");
    fs::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(JournalTest, EntriesAreDurableBeforeTheChangeAndReadBack) {
  Journal j = Journal::create("t1", false);
  j.record({{"op", "netns"}, {"name", "dl1-tx"}});
  j.record({{"op", "sysctl"}, {"key", "net.core.rmem_max"}, {"old", "212992"}, {"new", "1"}});
  EXPECT_TRUE(j.owner_alive()); // we are the owner
  Journal back = Journal::open(j.path());
  ASSERT_EQ(back.entries().size(), 2u);
  EXPECT_EQ(back.entries()[1]["old"], "212992");
  EXPECT_FALSE(back.persistent());
  EXPECT_EQ(list_journals(), std::vector<std::string>{j.path()});
}

TEST_F(JournalTest, ATornLastLineIsIgnored) {
  std::string path = dir_ + "/torn.journal";
  std::ofstream(path) << R"({"journal":1,"owner_pid":1,"owner_start_time":1,"persistent":false})" "\n"
                      << R"({"op":"netns","name":"dl9-tx"})" "\n"
                      << R"({"op":"sysc)";
  Journal j = Journal::open(path);
  EXPECT_EQ(j.entries().size(), 1u);
}

TEST_F(JournalTest, ADeadOwnerIsRecognisedEvenAfterPidReuse) {
  std::string path = dir_ + "/dead.journal";
  // Our own pid with a start time that is not ours: the pid was reused.
  std::ofstream(path) << nlohmann::json{{"journal", 1}, {"owner_pid", ::getpid()},
                                         {"owner_start_time", process_start_time(::getpid()) + 1},
                                         {"persistent", false}}.dump()
                      << "\n";
  EXPECT_FALSE(Journal::open(path).owner_alive());
}

TEST_F(JournalTest, RecoveryUndoesDeadRunsAndRemovesTheirJournal) {
  // A journal whose only entry is a namespace that no longer exists: undo is
  // a no-op that succeeds, and the file goes away.
  std::string path = dir_ + "/dead.journal";
  std::ofstream(path) << R"({"journal":1,"owner_pid":999999999,"owner_start_time":5,"persistent":false})" "\n"
                      << R"({"op":"netns","name":"dl999999999-tx"})" "\n";
  std::vector<std::string> failures;
  auto done = recover_journals(false, &failures);
  EXPECT_TRUE(failures.empty());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_NE(done[0].find("already gone"), std::string::npos) << done[0];
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(JournalTest, RecoveryLeavesLiveRunsAndPersistentLabsAlone) {
  Journal live = Journal::create("live", false);
  live.record({{"op", "netns"}, {"name", "dl1-tx"}});
  std::string lab = dir_ + "/lab.journal";
  std::ofstream(lab) << R"({"journal":1,"owner_pid":999999999,"owner_start_time":5,"persistent":true})" "\n";
  EXPECT_TRUE(recover_journals(false).empty());
  EXPECT_TRUE(fs::exists(live.path()));
  EXPECT_TRUE(fs::exists(lab));
}

} // namespace
