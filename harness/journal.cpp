#include "journal.hpp"

#include "children.hpp"
#include "lab.hpp"
#include "settings.hpp"

#include "droplab/dropreason/counter.hpp"
#include "sysctl.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace fs = std::filesystem;
using nlohmann::json;

namespace droplab::harness {

long top_mount_id(const std::string& target) {
  // /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..."; the last
  // line for a mount point is the mount on top.
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  long found = -1;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    long id = 0, parent = 0;
    std::string devno, root, point;
    if (f >> id >> parent >> devno >> root >> point && point == target) found = id;
  }
  return found;
}

unsigned long long process_start_time(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) return 0;
  // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  return std::stoull(field);
}

std::string journal_dir() {
  const char* env = ::getenv("DROPLAB_JOURNAL_DIR");
  return env && *env ? env : kJournalDir;
}

std::string own_netns_id() {
  // SO_NETNS_COOKIE (Linux 5.14): unique for the life of the system, where a
  // namespace's inode number is reused once it is gone.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    std::uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    int r = ::getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
    ::close(fd);
    if (r == 0) return fmt::format("cookie:{}", cookie);
  }
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return "unknown";
  return fmt::format("inode:{}", st.st_ino);
}

Journal Journal::create(const std::string& id, bool persistent) {
  const std::string dir = journal_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "mkdir " + dir);
  Journal j;
  j.path_ = fmt::format("{}/{}.journal", dir, id);
  j.fd_ = ::open(j.path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (j.fd_ < 0) throw std::system_error(errno, std::generic_category(), "create " + j.path_);
  pid_t pid = ::getpid();
  j.header_ = json{{"journal", 1},
                   {"owner_pid", pid},
                   {"owner_start_time", process_start_time(pid)},
                   {"persistent", persistent},
                   // Entries without a namespace name apply to this one.
                   {"netns", own_netns_id()}};
  std::string line = j.header_.dump() + "\n";
  if (::write(j.fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(j.fd_) != 0) {
    throw std::system_error(errno, std::generic_category(), "write " + j.path_);
  }
  return j;
}

Journal Journal::open(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "open " + path);
  Journal j;
  j.path_ = path;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json e;
    try {
      e = json::parse(line);
    } catch (const json::parse_error&) {
      // A line torn by a crash mid-write: the change it announced was not made yet.
      continue;
    }
    if (first) {
      j.header_ = std::move(e);
      first = false;
    } else {
      j.entries_.push_back(std::move(e));
    }
  }
  return j;
}

Journal::Journal(Journal&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), header_(std::move(o.header_)),
      entries_(std::move(o.entries_)) {}

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    header_ = std::move(o.header_);
    entries_ = std::move(o.entries_);
  }
  return *this;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::record(const json& entry) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path_);
  }
  std::string line = entry.dump() + "\n";
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(fd_) != 0) {
    throw std::system_error(errno, std::generic_category(), "journal write " + path_);
  }
  entries_.push_back(entry);
}

bool Journal::persistent() const { return header_.is_object() && header_.value("persistent", false); }

bool Journal::complete() const { return header_.is_object() && header_.contains("owner_pid"); }

bool Journal::of_this_netns() const {
  // An agent's journal from another network namespace on this machine (a
  // lab of namespaces): its changes are that namespace's, and undoing them
  // here would change ours. Its own namespace's next agent recovers it.
  return !header_.contains("netns") || header_["netns"] == own_netns_id();
}

bool Journal::owner_alive() const {
  if (!complete()) return false;
  pid_t pid = header_.value("owner_pid", 0);
  unsigned long long start = header_.value("owner_start_time", 0ULL);
  if (pid <= 0) return false;
  return process_start_time(pid) == start && start != 0;
}

namespace {

// Undoes one entry; returns what it did. Throws on failure.
std::string undo_entry(const json& e) {
  const std::string op = e.value("op", "");
  if (op == "netns") {
    std::string name = e.at("name");
    if (!netns_exists(name)) return fmt::format("netns {}: already gone", name);
    delete_netns(name);
    return fmt::format("netns {}: deleted", name);
  }
  if (op == "sysctl") {
    std::string key = e.at("key");
    std::string old = e.at("old");
    std::string netns = e.value("netns", "");
    if (!netns.empty() && !netns_exists(netns)) {
      return fmt::format("sysctl {} in {}: namespace gone with it", key, netns);
    }
    // Journaled before the write: a write that failed (a read-only sysctl)
    // left the old value, and there is nothing to undo.
    if (read_sysctl(key, netns) == normalize_sysctl_value(old)) {
      return fmt::format("sysctl {}{}: unchanged ({})", key, netns.empty() ? "" : " in " + netns, old);
    }
    write_sysctl(key, old, netns);
    return fmt::format("sysctl {}{}: restored to {}", key, netns.empty() ? "" : " in " + netns,
                       old);
  }
  if (op == "sysfs") {
    std::string path = e.at("path");
    std::string old = e.at("old");
    std::string netns = e.value("netns", "");
    if (!netns.empty() && !netns_exists(netns)) {
      return fmt::format("{} in {}: namespace gone with it", path, netns);
    }
    write_sysfs(path, old, netns);
    return fmt::format("{}: restored to {}", path, old);
  }
  if (op == "qdisc") return undo_qdisc(e.at("netns"), e.at("dev"));
  if (op == "nft_table") return undo_nft_table(e.at("netns"), e.at("family"), e.at("table"));
  if (op == "lab_device") {
    // A setting of a lab veth: the device exists only in the lab namespace,
    // whose own entry (earlier in the journal, so undone later) removes it.
    return fmt::format("{} on {} in {}: undone with the namespace", e.value("what", "?"),
                       e.value("dev", "?"), e.value("netns", "?"));
  }
  if (op == "mount") {
    // Announced before mounting; only a "mounted" entry (with the mount's id)
    // proves the mount happened and is ours to remove.
    return std::string(e.at("target")) + ": mount announced (removed by its \"mounted\" entry, if made)";
  }
  if (op == "mounted") {
    std::string target = e.at("target");
    long id = e.at("mnt_id");
    if (top_mount_id(target) != id) return target + ": our mount is already gone";
    if (::umount2(target.c_str(), MNT_DETACH) != 0) {
      throw std::system_error(errno, std::generic_category(), "umount " + target);
    }
    return target + ": unmounted";
  }
  if (op == "tracefs_instance") {
    std::string path = e.at("path");
    if (!fs::exists(path)) return path + ": already gone";
    dropreason::DropReasonCounter::remove_instance(path); // disables its events, then rmdir
    return path + ": removed";
  }
  throw std::runtime_error(fmt::format("unknown journal entry {}", e.dump()));
}

} // namespace

std::vector<std::string> Journal::undo_all(std::vector<std::string>* failures) {
  std::vector<std::string> done;
  std::size_t failed = 0;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    try {
      done.push_back(undo_entry(*it));
    } catch (const std::exception& ex) {
      ++failed;
      if (failures) failures->push_back(fmt::format("undo {}: {}", it->dump(), ex.what()));
    }
  }
  if (failed == 0) {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    ::unlink(path_.c_str());
    entries_.clear();
  }
  return done;
}

std::vector<std::string> list_journals() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(journal_dir(), ec)) {
    if (de.path().extension() == ".journal") out.push_back(de.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> recover_journals(bool include_persistent,
                                          std::vector<std::string>* failures) {
  std::vector<std::string> done;
  for (const auto& path : list_journals()) {
    std::optional<Journal> opened;
    try {
      opened.emplace(Journal::open(path));
    } catch (const std::exception& e) {
      if (failures) failures->push_back(fmt::format("{}: {}", path, e.what()));
      continue;
    }
    Journal& j = *opened;
    if (!j.complete()) {
      // Headerless: created, then killed before it recorded anything. Remove
      // it once it is clearly not a journal being written right now.
      std::error_code ec;
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(path, ec);
      if (!ec && age > std::chrono::seconds(10)) fs::remove(path, ec);
      continue;
    }
    if (j.owner_alive() && !j.persistent()) continue; // a run in progress
    if (j.persistent() && !include_persistent) continue;
    if (!j.of_this_netns()) continue;
    auto lines = j.undo_all(failures);
    for (auto& l : lines) done.push_back(fmt::format("{}: {}", fs::path(path).filename().string(), l));
  }
  for (auto& l : remove_orphan_run_dirs()) done.push_back(std::move(l));
  return done;
}

} // namespace droplab::harness
