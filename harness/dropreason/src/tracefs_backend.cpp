// Tracefs fallback: skb:kfree_skb enabled in a private instance, trace_pipe read by a thread.
// The text buffer sees every namespace: its counts are host-wide.
#include "backend.hpp"

#include "droplab/dropreason/trace_line.hpp"

#include "droplab/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace droplab::dropreason {
namespace {

// Per-CPU buffer of the private instance: room for bursts between two drains.
constexpr const char* kBufferSizeKb = "4096";
constexpr int kPollMs = 50;

// Writes `value` to a tracefs control file; returns errno (0 on success).
int write_file(const std::string& path, std::string_view value) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  if (::write(fd.get(), value.data(), value.size()) < 0) return errno;
  return 0;
}

class TracefsBackend final : public DropReasonCounter::Backend {
public:
  TracefsBackend(std::string path, ReasonNames names, Fd pipe, Fd wake)
      : path_(std::move(path)), pipe_(std::move(pipe)), wake_(std::move(wake)) {
    for (auto& [id, name] : names)
      ids_.emplace(name, id);
    thread_ = std::thread([this] { loop(); });
  }
  ~TracefsBackend() override { stop(); }

  std::vector<ReasonCount> collect() override {
    drain();
    std::lock_guard lock(mutex_);
    std::vector<ReasonCount> out;
    for (const auto& [key, count] : counts_) {
      auto it = ids_.find(key.first);
      out.push_back(
          {key.first, it != ids_.end() ? it->second : 0u, key.second, count, false, true});
    }
    return out;
  }

  std::uint64_t lost() const override {
    std::lock_guard lock(mutex_);
    return lost_;
  }

  std::string instance_path() const override { return path_; }

  void stop() override {
    if (!thread_.joinable()) return;
    stop_.store(true);
    signal();
    thread_.join(); // the thread drains once more before it returns
    pipe_.reset();  // an open trace_pipe makes rmdir fail with EBUSY
    wake_.reset();
    try {
      DropReasonCounter::remove_instance(path_);
    } catch (const std::exception&) {
      // Reported by the next recovery (the instance is journaled by the caller).
    }
  }

private:
  void signal() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  }

  // Waits until the thread has read everything the kernel wrote before this call.
  void drain() {
    if (!thread_.joinable()) return;
    std::unique_lock lock(mutex_);
    const std::uint64_t want = ++drain_requested_;
    signal();
    drained_cv_.wait(lock, [&] { return drain_done_ >= want || finished_; });
  }

  void loop() {
    for (;;) {
      std::uint64_t want;
      {
        std::lock_guard lock(mutex_);
        want = drain_requested_;
      }
      const bool stopping = stop_.load();
      read_available();
      {
        std::lock_guard lock(mutex_);
        drain_done_ = want;
        if (stopping) finished_ = true;
      }
      drained_cv_.notify_all();
      if (stopping) return;
      // poll() on trace_pipe may wait for buffer_percent to fill: the timeout bounds the delay.
      pollfd fds[2] = {{pipe_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      ::poll(fds, 2, kPollMs);
      if (fds[1].revents & POLLIN) {
        std::uint64_t v;
        [[maybe_unused]] auto n = ::read(wake_.get(), &v, sizeof v);
      }
    }
  }

  void read_available() {
    char buf[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(pipe_.get(), buf, sizeof buf);
      if (n <= 0) return; // EAGAIN: empty; other errors end this pass
      partial_.append(buf, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
        account(std::string_view(partial_).substr(start, nl - start));
      partial_.erase(0, start);
    }
  }

  void account(std::string_view line) {
    if (auto ev = parse_kfree_skb_trace_line(line)) {
      std::lock_guard lock(mutex_);
      ++counts_[{ev->reason, ev->location}];
      return;
    }
    // "CPU:1 [LOST 12 EVENTS]" after a buffer overrun.
    if (const std::size_t p = line.find("[LOST "); p != std::string_view::npos) {
      std::lock_guard lock(mutex_);
      lost_ += std::strtoull(std::string(line.substr(p + 6)).c_str(), nullptr, 10);
    }
  }

  std::string path_;
  Fd pipe_;
  Fd wake_;
  std::map<std::string, std::uint32_t> ids_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string partial_; // reader thread only

  mutable std::mutex mutex_;
  std::condition_variable drained_cv_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
  std::uint64_t lost_ = 0;
  std::uint64_t drain_requested_ = 0;
  std::uint64_t drain_done_ = 0;
  bool finished_ = false;
};

} // namespace

std::unique_ptr<DropReasonCounter::Backend>
make_tracefs_backend(const std::string& path, const ReasonNames& names,
                     const DropReasonCounter::BeforeMkdir& before_mkdir) {
  const std::string instances = path.substr(0, path.rfind('/'));
  struct stat st {};
  if (::stat(instances.c_str(), &st) != 0)
    throw BackendUnavailable(
        fmt::format("tracefs: {}: {} (tracefs not mounted?)", instances, std::strerror(errno)));
  if (::stat(path.c_str(), &st) == 0)
    throw BackendUnavailable(fmt::format("tracefs: {} already exists", path));

  if (before_mkdir) before_mkdir(path); // journal first: an exception here creates nothing
  if (::mkdir(path.c_str(), 0750) != 0)
    throw BackendUnavailable(fmt::format("tracefs: mkdir {}: {}", path, std::strerror(errno)));

  // From here every failure removes the instance again.
  auto fail = [&](std::string message) -> BackendUnavailable {
    try {
      DropReasonCounter::remove_instance(path);
    } catch (const std::exception& e) {
      message += fmt::format("; and removing the instance failed: {}", e.what());
    }
    return BackendUnavailable(message);
  };
  if (int err = write_file(path + "/buffer_size_kb", kBufferSizeKb); err != 0)
    throw fail(fmt::format("tracefs: {}/buffer_size_kb: {}", path, std::strerror(err)));
  if (int err = write_file(path + "/events/skb/kfree_skb/enable", "1"); err != 0)
    throw fail(
        fmt::format("tracefs: enable {}/events/skb/kfree_skb: {}", path, std::strerror(err)));
  Fd pipe(::open((path + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!pipe) throw fail(fmt::format("tracefs: open {}/trace_pipe: {}", path, std::strerror(errno)));
  Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) throw fail(fmt::format("eventfd: {}", std::strerror(errno)));
  return std::make_unique<TracefsBackend>(path, names, std::move(pipe), std::move(wake));
}

void DropReasonCounter::remove_instance(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::system_error(errno, std::generic_category(), "stat " + path);
  }
  // Tracing off first, so a busy instance stops filling while we retry.
  write_file(path + "/events/skb/kfree_skb/enable", "0");
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
    throw std::system_error(errno, std::generic_category(), "rmdir " + path);
}

} // namespace droplab::dropreason
