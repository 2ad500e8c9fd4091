// Test support shared by the test directories: a scratch folder removed with
// everything in it when the object goes, failed assertions included.
#pragma once

#include <string>

namespace droplab::test {

class TempDir {
public:
  // mkdtemp under $TMPDIR (or /tmp), named "<prefix>.XXXXXX".
  explicit TempDir(const std::string& prefix = "droplab-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace droplab::test
