#include "browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace fs = std::filesystem;

namespace droplab::html_test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Our environment with HOME pointed into the work directory: Chromium keeps
// some state (NSS database, crash reports) under HOME whatever the profile.
std::vector<std::string> child_env(const std::string& home) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "HOME=", 5) != 0 && std::strncmp(*e, "XDG_", 4) != 0) env.emplace_back(*e);
  }
  env.push_back("HOME=" + home);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

BrowserResult run_chromium(const std::string& html_path, const std::vector<std::string>& args,
                           const std::string& work_dir, std::chrono::seconds timeout) {
  static int runs = 0;
  const std::string tag = work_dir + "/chromium-" + std::to_string(runs++);
  fs::create_directories(tag + "-home");
  std::vector<std::string> argv{kChromium,
                                "--headless",
                                "--no-sandbox", // tests run as root in CI
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--user-data-dir=" + tag + "-profile",
                                "--enable-logging=stderr",
                                "--v=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("file://" + fs::absolute(html_path).string());
  std::vector<std::string> env = child_env(tag + "-home");
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(env);
  const std::string out_path = tag + ".out", err_path = tag + ".err";

  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork for chromium");
  if (pid == 0) {
    ::setpgid(0, 0);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::dup2(in, STDIN_FILENO);
    ::execve(kChromium, c_argv.data(), c_env.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid); // also here: no race with the kill below

  BrowserResult r;
  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so the raw system call (Linux >= 5.3).
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw std::system_error(e, std::generic_category(), "pidfd_open for chromium");
  }
  pollfd pfd{pidfd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(std::chrono::milliseconds(timeout).count()));
  } while (ready < 0 && errno == EINTR);
  ::close(pidfd);
  r.timed_out = ready == 0;
  // Chromium itself is a zombie now (or still running, at the timeout), so
  // its process group id cannot have been reused: kill whatever is left in it.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && !r.timed_out) r.exit_code = WEXITSTATUS(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

std::vector<std::string> console_problems(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> dom_problems(const std::string& dom) {
  std::vector<std::string> out;
  std::smatch m;
  static const std::regex body(R"re(<body[^>]*\sdata-rendered="([^"]*)")re");
  if (!std::regex_search(dom, m, body)) {
    out.push_back("<body> has no data-rendered: the renderer never finished");
  } else if (m[1] != "ok") {
    out.push_back("<body data-rendered=\"" + m[1].str() + "\">");
  }
  static const std::regex errors(R"re(<pre id="droplab-errors"[^>]*>([\s\S]*?)</pre>)re");
  if (!std::regex_search(dom, m, errors)) {
    out.push_back("no #droplab-errors element");
  } else if (m[1].length() > 0) {
    out.push_back("#droplab-errors: " + m[1].str());
  }
  return out;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

std::string svg_with_id(const std::string& dom, const std::string& id) {
  auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  auto begin = dom.rfind("<svg", at);
  auto end = dom.find("</svg>", at);
  if (begin == std::string::npos || end == std::string::npos) return {};
  return dom.substr(begin, end + 6 - begin);
}

std::string text_with_id(const std::string& dom, const std::string& id) {
  auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  auto open = dom.rfind('<', at);
  auto name_end = dom.find_first_of(" >", open);
  std::string close = "</" + dom.substr(open + 1, name_end - open - 1) + ">";
  auto content = dom.find('>', at) + 1;
  auto end = dom.find(close, content);
  if (end == std::string::npos) return {};
  std::string text =
      std::regex_replace(dom.substr(content, end - content), std::regex("<[^>]*>"), "");
  for (auto [entity, ch] :
       {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}}) {
    text = std::regex_replace(text, std::regex(entity), ch);
  }
  return text;
}

} // namespace droplab::html_test
