// Access to the samples in tests/data/dropreason (see its README.md).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace droplab::dropreason::test {

inline std::string data_path(const std::string& name) {
  return std::string(DROPLAB_TEST_DATA) + "/dropreason/" + name;
}

inline std::string read_data(const std::string& name) {
  std::ifstream in(data_path(name));
  if (!in) throw std::runtime_error("missing test data file " + data_path(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace droplab::dropreason::test
