#include "agent_test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace agenttest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& in_path) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

} // namespace

int run_command(const std::vector<std::string>& argv, const std::string& out_path) {
  pid_t pid = spawn(argv, out_path, "/dev/null");
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(5ms);
  }
}

Certs make_certs(const std::string& dir) {
  auto f = [&](const std::string& name) { return dir + "/" + name; };
  std::string log = f("openssl.log");
  auto run = [&](const std::vector<std::string>& argv) {
    if (run_command(argv, log) != 0) {
      std::string cmd;
      for (const auto& a : argv)
        cmd += a + " ";
      throw std::runtime_error("`" + cmd + "` failed: " + read_text(log));
    }
  };
  write_text(f("ca.cnf"),
             "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n"
             "[dn]\nCN = droplab test CA\n"
             "[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
             "subjectKeyIdentifier = hash\n");
  write_text(f("agent.ext"),
             "subjectAltName = IP:127.0.0.1, DNS:agent.test\nextendedKeyUsage = serverAuth\n"
             "basicConstraints = CA:FALSE\n");
  write_text(f("client.ext"), "extendedKeyUsage = clientAuth\nbasicConstraints = CA:FALSE\n");
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                           "-nodes"};

  auto make_ca = [&](const std::string& name) {
    std::vector<std::string> argv = {"openssl", "req", "-x509", "-config", f("ca.cnf")};
    argv.insert(argv.end(), ec_key.begin(), ec_key.end());
    argv.insert(argv.end(), {"-keyout", f(name + ".key"), "-out", f(name + ".pem"), "-days", "2"});
    run(argv);
  };
  auto make_leaf = [&](const std::string& name, const std::string& cn, const std::string& ca,
                       const char* ext, const char* serial) {
    std::vector<std::string> argv = {"openssl", "req", "-new", "-subj", "/CN=" + cn};
    argv.insert(argv.end(), ec_key.begin(), ec_key.end());
    argv.insert(argv.end(), {"-keyout", f(name + ".key"), "-out", f(name + ".csr")});
    run(argv);
    run({"openssl", "x509", "-req", "-in", f(name + ".csr"), "-CA", f(ca + ".pem"), "-CAkey",
         f(ca + ".key"), "-set_serial", serial, "-days", "2", "-out", f(name + ".pem"), "-extfile",
         f(ext)});
  };
  make_ca("ca");
  make_ca("rogue-ca");
  make_leaf("agent", "agent", "ca", "agent.ext", "2");
  make_leaf("client", "controller", "ca", "client.ext", "3");
  make_leaf("rogue", "controller", "rogue-ca", "client.ext", "4");
  return Certs{.ca = f("ca.pem"),
               .agent_cert = f("agent.pem"),
               .agent_key = f("agent.key"),
               .client_cert = f("client.pem"),
               .client_key = f("client.key"),
               .rogue_ca = f("rogue-ca.pem"),
               .rogue_cert = f("rogue.pem"),
               .rogue_key = f("rogue.key")};
}

std::optional<NetnsGuard> NetnsGuard::create(const std::string& name, std::string& why) {
  if (run_command({"ip", "netns", "add", name}) != 0) {
    why = "`ip netns add " + name + "` failed (needs CAP_SYS_ADMIN and iproute2)";
    return std::nullopt;
  }
  NetnsGuard g(name); // from here on the destructor deletes it
  if (run_command({"ip", "-n", name, "link", "set", "lo", "up"}) != 0) {
    why = "cannot set lo up in namespace " + name;
    return std::nullopt;
  }
  return std::optional<NetnsGuard>(std::move(g));
}

NetnsGuard::NetnsGuard(NetnsGuard&& o) noexcept : name_(std::move(o.name_)) {
  o.name_.clear();
}

NetnsGuard::~NetnsGuard() {
  if (!name_.empty()) run_command({"ip", "netns", "del", name_});
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& out_path,
                           const std::string& stdin_path)
    : pid_(spawn(argv, out_path, stdin_path)) {}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
}

bool ChildProcess::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return false;
  }
  return r == 0;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (!wait_until([&] { return !running(); }, timeout)) return std::nullopt;
  if (status_ && *status_ < 0) return std::nullopt;
  return status_;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

TcpClient::TcpClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 &&
      errno != EINPROGRESS) {
    throw std::system_error(errno, std::generic_category(), "connect 127.0.0.1");
  }
  pollfd p{.fd = fd_, .events = POLLOUT, .revents = 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, 5000) != 1 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    throw std::system_error(err != 0 ? err : ETIMEDOUT, std::generic_category(),
                            "connect 127.0.0.1");
  }
}

TcpClient::~TcpClient() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpClient::send(const std::string& bytes) {
  // Small writes into an empty socket buffer: they do not block.
  if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    throw std::system_error(errno, std::generic_category(), "send");
  }
}

bool TcpClient::read_to_end(std::string& out, std::chrono::milliseconds timeout) {
  auto end = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return true; // EOF or reset
  }
}

} // namespace agenttest
