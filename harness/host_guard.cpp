#include "host_guard.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace droplab::harness {

HostGuard::~HostGuard() {
  try {
    restore();
  } catch (...) {
    // A destructor must not throw; restore() already reported what failed.
  }
}

const std::vector<std::string>& HostGuard::restore() {
  if (done_) return lines_;
  done_ = true;
  lines_ = journal_.undo_all(&failures_);
  for (const auto& f : failures_) {
    fmt::print(stderr, "droplab: could not restore: {} (journal kept at {}; run `droplab lab down --recover`)\n",
               f, journal_.path());
  }
  return lines_;
}

} // namespace droplab::harness
