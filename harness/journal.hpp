// The journal of host changes. Every change a run makes to the host (a
// namespace, a sysctl, an RPS mask) is appended to a journal file and fsync'd
// *before* it is made, so whatever ends the run — an error, Ctrl-C, SIGKILL —
// the change can be undone: by the run itself on the way out, or by the next
// run (or `droplab lab down --recover`) from the file it left behind.
//
// Journals live in /run/droplab (tmpfs: a reboot clears them together with
// the namespaces and sysctls they describe).
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace droplab::harness {

inline constexpr const char* kJournalDir = "/run/droplab";

// kJournalDir, or $DROPLAB_JOURNAL_DIR when set (tests use a scratch folder).
std::string journal_dir();

class Journal {
public:
  // Creates a journal named `id`. A persistent journal belongs to a lab made by
  // `droplab lab up` and is undone by `lab down`, not by recovery.
  static Journal create(const std::string& id, bool persistent);
  // Opens an existing journal file to undo it.
  static Journal open(const std::string& path);

  Journal(Journal&&) noexcept;
  Journal& operator=(Journal&&) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();

  // Appends an entry ({"op": …}) durably. Call before making the change.
  void record(const nlohmann::json& entry);

  // Undoes every entry, newest first. Each failure is collected, not thrown,
  // so one failed undo does not stop the others. The file is removed when all
  // succeeded. Returns human-readable lines of what was done.
  std::vector<std::string> undo_all(std::vector<std::string>* failures = nullptr);

  const std::string& path() const { return path_; }
  const nlohmann::json& header() const { return header_; }
  const std::vector<nlohmann::json>& entries() const { return entries_; }
  bool owner_alive() const;
  // False for a journal written in another network namespace (an agent's in
  // a namespace lab): only there may it be undone.
  bool of_this_netns() const;
  // False for a file whose header was never written (its creator died at
  // once): it announced no change, so there is nothing to undo.
  bool complete() const;
  bool persistent() const;

private:
  Journal() = default;
  std::string path_;
  int fd_ = -1;
  nlohmann::json header_;
  std::vector<nlohmann::json> entries_;
};

// The calling thread's network namespace, as recorded in journal headers:
// "cookie:N" (SO_NETNS_COOKIE, never reused), else "inode:N".
std::string own_netns_id();

// Journals currently in kJournalDir.
std::vector<std::string> list_journals();

// Undoes the journals whose owner is gone (a killed run), and persistent ones
// too when `include_persistent`. Returns what was done, one line each.
std::vector<std::string> recover_journals(bool include_persistent,
                                          std::vector<std::string>* failures = nullptr);

// Process start time (field 22 of /proc/PID/stat), 0 if the process is gone;
// with the pid it identifies a process even after pid reuse.
unsigned long long process_start_time(pid_t pid);

// The id of the mount on top at `target` (/proc/self/mountinfo), -1 if none.
long top_mount_id(const std::string& target);

} // namespace droplab::harness
