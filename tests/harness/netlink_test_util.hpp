// Captured netlink messages in tests/data: one message a line, as hex.
#pragma once

#include "test_data.hpp"

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace droplab::counters::test {

inline std::vector<std::vector<std::byte>> read_hex_messages(const std::string& name) {
  std::vector<std::vector<std::byte>> out;
  std::istringstream in(read_data(name));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.size() % 2) throw std::runtime_error(name + ": odd hex line");
    std::vector<std::byte> m;
    for (std::size_t i = 0; i < line.size(); i += 2)
      m.push_back(static_cast<std::byte>(std::stoul(line.substr(i, 2), nullptr, 16)));
    out.push_back(std::move(m));
  }
  return out;
}

} // namespace droplab::counters::test
