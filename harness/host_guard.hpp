// Scope guard over a Journal: undoes every recorded change when the run ends,
// however it ends (return, exception, Ctrl-C). SIGKILL skips destructors; the
// journal file left behind is what the next run recovers.
#pragma once

#include "journal.hpp"

#include <string>
#include <vector>

namespace droplab::harness {

class HostGuard {
public:
  explicit HostGuard(Journal& j) : journal_(j) {}
  HostGuard(const HostGuard&) = delete;
  HostGuard& operator=(const HostGuard&) = delete;
  ~HostGuard();

  // Undoes now; returns the lines describing what was undone. Failures are
  // kept in failures() and printed to stderr. Idempotent.
  const std::vector<std::string>& restore();
  const std::vector<std::string>& failures() const { return failures_; }

private:
  Journal& journal_;
  bool done_ = false;
  std::vector<std::string> lines_;
  std::vector<std::string> failures_;
};

} // namespace droplab::harness
