#include "gen/flow_sockets.hpp"

#include "droplab/cli.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::gen {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// One socket per flow: raise the soft RLIMIT_NOFILE to the hard limit when the
// default (often 1024) is too small; that needs no privilege.
void ensure_fd_budget(std::uint32_t flows) {
  constexpr rlim_t kSpare = 64; // stdio, the JSON file, libraries
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) throw_errno(errno, "getrlimit(RLIMIT_NOFILE)");
  rlim_t need = flows + kSpare;
  if (rl.rlim_cur >= need) return;
  if (rl.rlim_max < need) {
    throw UsageError(fmt::format("--flows {}: needs {} file descriptors but RLIMIT_NOFILE allows "
                                 "{}; use fewer flows or raise the limit (ulimit -n)",
                                 flows, need, rl.rlim_max));
  }
  rl.rlim_cur = need;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) throw_errno(errno, "setrlimit(RLIMIT_NOFILE)");
}

// The device holding `local` and its MTU, to name the limit in an error.
std::string describe_device(in_addr local) {
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return "device unknown";
  std::string out = "device unknown";
  for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    in_addr a{};
    std::memcpy(&a, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, sizeof a);
    if (a.s_addr != local.s_addr) continue;
    ifreq req{};
    std::snprintf(req.ifr_name, sizeof req.ifr_name, "%s", i->ifa_name);
    Fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (probe && ::ioctl(probe.get(), SIOCGIFMTU, &req) == 0) {
      out = fmt::format("device {} MTU {}", i->ifa_name, req.ifr_mtu);
    } else {
      out = fmt::format("device {}", i->ifa_name);
    }
    break;
  }
  ::freeifaddrs(ifs);
  return out;
}

sockaddr_in local_name(int fd, std::uint32_t flow) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    throw_errno(errno, fmt::format("getsockname on flow {}", flow));
  }
  return sa;
}

} // namespace

FlowSockets::FlowSockets(const TxSetup& setup) : first_flow_(setup.first_flow) {
  // Threads open their sockets one after the other with rising first_flow:
  // by the last one, first_flow + flows descriptors are open.
  ensure_fd_budget(setup.first_flow + setup.flows);
  socks_.reserve(setup.flows);
  ports_.reserve(setup.flows);
  for (std::uint32_t f = setup.first_flow; f < setup.first_flow + setup.flows; ++f) {
    sockaddr_in dst = setup.dst.sockaddr();
    dst.sin_addr = setup.flow_dst(f);
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno(errno, fmt::format("socket(AF_INET, SOCK_DGRAM) for flow {}", f));
    // DF on every datagram: a frame the path cannot carry must fail, not be
    // fragmented into frames of another size.
    int pmtu = IP_PMTUDISC_DO;
    if (::setsockopt(s.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) != 0) {
      throw_errno(errno, fmt::format("setsockopt(IP_MTU_DISCOVER) on flow {}", f));
    }
    if (setup.src_port) {
      sockaddr_in any{};
      any.sin_family = AF_INET;
      any.sin_port = htons(static_cast<std::uint16_t>(*setup.src_port + f));
      if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
        throw_errno(errno, fmt::format("bind flow {} to --src-port {}+{}", f, *setup.src_port, f));
      }
    }
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0) {
      throw_errno(errno, fmt::format("connect flow {} to {}", f, ipv4_to_string(dst.sin_addr)));
    }
    if (f == setup.first_flow) check_path_mtu(s.get(), setup); // every flow takes the same route
    ports_.push_back(ntohs(local_name(s.get(), f).sin_port));
    socks_.push_back(std::move(s));
  }
}

void FlowSockets::check_path_mtu(int fd, const TxSetup& setup) const {

  int mtu = 0;
  socklen_t len = sizeof mtu;
  if (::getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) != 0) {
    throw_errno(errno, fmt::format("getsockopt(IP_MTU) towards {}", setup.dst.to_string()));
  }
  // The IP packet is the wire frame minus Ethernet header and FCS.
  const std::size_t ip_bytes = setup.wire_size - kEthHeaderBytes - kEthFcsBytes;
  if (mtu > 0 && ip_bytes <= static_cast<std::size_t>(mtu)) return;
  throw UsageError(fmt::format(
      "--size {}: its {}-byte IP packets exceed the path MTU {} to {} ({}); the largest "
      "--size on this path is {} bytes",
      setup.wire_size, ip_bytes, mtu, ipv4_to_string(setup.dst.addr),
      describe_device(local_name(fd, 0).sin_addr), mtu + kEthHeaderBytes + kEthFcsBytes));
}

} // namespace droplab::gen
