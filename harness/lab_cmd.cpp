#include "lab_cmd.hpp"

#include "children.hpp"
#include "host_guard.hpp"
#include "journal.hpp"
#include "lab.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>

namespace droplab::harness {
namespace {

void require_root(const char* what) {
  if (::geteuid() != 0) throw std::runtime_error(fmt::format("{} needs root", what));
}

} // namespace

int lab_up_command() {
  require_root("droplab lab up");
  Lab lab = Lab::for_pid(::getpid());
  Journal journal = Journal::create(lab.id, true);
  try {
    lab_up(lab, journal);
  } catch (...) {
    std::vector<std::string> failures;
    journal.undo_all(&failures);
    for (const auto& f : failures) fmt::print(stderr, "droplab: could not undo: {}\n", f);
    throw;
  }
  fmt::print("lab {} is up (journal {})\n", lab.id, journal.path());
  fmt::print("  {} in netns {}: {}/{}\n", lab.tx_dev, lab.tx_ns, lab.tx_addr, lab.prefix_len);
  fmt::print("  {} in netns {}: {}/{}\n", lab.rx_dev, lab.rx_ns, lab.rx_addr, lab.prefix_len);
  fmt::print("remove it with: droplab lab down\n");
  return 0;
}

int lab_down_command(bool recover) {
  require_root("droplab lab down");
  std::vector<std::string> failures;
  std::size_t n = 0;
  for (const auto& path : list_journals()) {
    Journal j = Journal::open(path);
    bool take = (j.persistent() || (recover && !j.owner_alive())) && j.of_this_netns();
    if (!take) continue;
    for (const auto& line : j.undo_all(&failures)) {
      fmt::print("{}: {}\n", std::filesystem::path(path).filename().string(), line);
      ++n;
    }
  }
  if (recover) {
    for (const auto& line : remove_orphan_run_dirs()) {
      fmt::print("{}\n", line);
      ++n;
    }
  }
  for (const auto& f : failures) fmt::print(stderr, "droplab: could not undo: {}\n", f);
  fmt::print("{} change(s) undone{}\n", n, recover ? " (including runs that were killed)" : "");
  return failures.empty() ? 0 : 1;
}

int lab_status_command() {
  auto journals = list_journals();
  if (journals.empty()) fmt::print("no journals in {}: droplab has nothing to undo\n", journal_dir());
  for (const auto& path : journals) {
    Journal j = Journal::open(path);
    if (!j.complete()) {
      fmt::print("{}: no header (its creator died at once): nothing to undo\n", path);
      continue;
    }
    std::string state = j.persistent() ? "lab made by `lab up`"
                        : j.owner_alive() ? "run in progress"
                                          : "left by a killed run (undo: droplab lab down --recover)";
    fmt::print("{}: {}, owner pid {}, {} change(s)\n", path, state,
               j.header().value("owner_pid", 0), j.entries().size());
    for (const auto& e : j.entries()) fmt::print("    {}\n", e.dump());
  }
  auto ns = list_lab_netns();
  fmt::print("lab namespaces present: {}\n", ns.empty() ? "none" : fmt::format("{}", fmt::join(ns, " ")));
  return 0;
}

} // namespace droplab::harness
