// A profile argument: a path is used as given, a bare name is looked up in the
// shipped profiles' directories (resolve_profile).
#include "profile.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace droplab::harness;
namespace fs = std::filesystem;
using droplab::test::TempDir;

namespace {

void touch(const std::string& path) {
  std::ofstream(path) << "{\"name\": \"t\"}\n";
}

std::string error_of(const std::string& arg, const std::vector<std::string>& dirs) {
  try {
    resolve_profile(arg, dirs);
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "";
}

TEST(ProfileLookup, PathsAreUsedAsGiven) {
  TempDir d;
  touch(d.file("socket-rcvbuf.json"));
  const std::vector<std::string> dirs{d.path()};
  // A slash or a .json suffix makes it a path, whether or not the file exists:
  // opening it then fails as it always did, naming the path.
  EXPECT_EQ(resolve_profile("profiles/socket-rcvbuf.json", dirs), "profiles/socket-rcvbuf.json");
  EXPECT_EQ(resolve_profile("./socket-rcvbuf", dirs), "./socket-rcvbuf");
  EXPECT_EQ(resolve_profile("socket-rcvbuf.json", dirs), "socket-rcvbuf.json");
  EXPECT_EQ(resolve_profile("/nonexistent/x.json", dirs), "/nonexistent/x.json");
}

TEST(ProfileLookup, AnExistingFileWinsOverTheShippedName) {
  TempDir shipped, cwd;
  touch(shipped.file("clean.json"));
  touch(cwd.file("clean")); // a profile file without .json, in the working directory
  const fs::path before = fs::current_path();
  fs::current_path(cwd.path());
  const std::string got = resolve_profile("clean", {shipped.path()});
  fs::current_path(before);
  EXPECT_EQ(got, "clean");
}

TEST(ProfileLookup, BareNameFromTheFirstDirectoryThatHasIt) {
  TempDir a, b;
  touch(a.file("clean.json"));
  touch(b.file("clean.json"));
  touch(b.file("socket-rcvbuf.json"));
  EXPECT_EQ(resolve_profile("socket-rcvbuf", {a.path(), b.path()}), b.file("socket-rcvbuf.json"));
  EXPECT_EQ(resolve_profile("clean", {a.path(), b.path()}), a.file("clean.json"));
}

TEST(ProfileLookup, UnknownNameSaysWhereItLookedAndWhatIsThere) {
  TempDir a;
  touch(a.file("clean.json"));
  touch(a.file("backlog.json"));
  touch(a.file("README.md"));               // not a profile
  fs::create_directory(a.file("sub.json")); // not a file
  const std::string missing = a.file("no-such-dir");
  const std::string e = error_of("socket-rcvbuff", {a.path(), missing});
  EXPECT_NE(e.find("no profile named \"socket-rcvbuff\""), std::string::npos) << e;
  EXPECT_NE(e.find(a.file("socket-rcvbuff.json")), std::string::npos) << e;
  EXPECT_NE(e.find(missing + " (no such directory)"), std::string::npos) << e;
  EXPECT_NE(e.find("profiles there: backlog, clean;"), std::string::npos) << e;
  // A usage error: droplab exits 2.
  EXPECT_THROW(resolve_profile("socket-rcvbuff", {a.path()}), droplab::UsageError);
  EXPECT_NE(error_of("x", {}).find("profiles there: none"), std::string::npos);
}

TEST(ProfileLookup, NamesAreSortedAndListedOnce) {
  TempDir a, b;
  touch(a.file("qdisc.json"));
  touch(b.file("qdisc.json"));
  touch(b.file("clean.json"));
  EXPECT_EQ(profile_names({a.path(), b.path()}), (std::vector<std::string>{"clean", "qdisc"}));
}

// The build tree has the installed layout: bin/../share/droplab/profiles is the
// source profiles/ folder, so a bare name works before anything is installed.
TEST(ProfileLookup, BareNameWorksInTheBuildTree) {
  const auto dirs = profile_dirs();
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(fs::path(dirs[0]).filename(), "profiles");
  EXPECT_EQ(fs::path(dirs[0]).parent_path().filename(), "droplab");
  const fs::path got = resolve_profile("socket-rcvbuf");
  EXPECT_TRUE(fs::equivalent(got, fs::path(DROPLAB_PROFILES_DIR) / "socket-rcvbuf.json")) << got;
  EXPECT_EQ(load_profile("socket-rcvbuf").expect->drops_at, "socket");
}

} // namespace
