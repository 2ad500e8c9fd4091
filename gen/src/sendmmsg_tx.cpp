#include "gen/sendmmsg_tx.hpp"

#include "droplab/cli.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::gen {
namespace {

[[noreturn]] void throw_errno(int err, const std::string &what) {
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
  ifaddrs *ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return "device unknown";
  std::string out = "device unknown";
  for (ifaddrs *i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    in_addr a{};
    std::memcpy(&a, &reinterpret_cast<const sockaddr_in *>(i->ifa_addr)->sin_addr, sizeof a);
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
  if (::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) != 0) {
    throw_errno(errno, fmt::format("getsockname on flow {}", flow));
  }
  return sa;
}

} // namespace

bool SendmmsgTx::available() {
  // vlen 0 on an invalid fd: EBADF proves the syscall exists without sending.
  errno = 0;
  int r = ::sendmmsg(-1, nullptr, 0, 0);
  int err = errno;
  return !(r < 0 && (err == ENOSYS || err == EPERM));
}

SendmmsgTx::SendmmsgTx(const TxSetup &setup)
    : slot_bytes_(udp_payload_for_wire(setup.wire_size)), buffers_(slot_bytes_ * setup.batch),
      iov_(setup.batch), hdrs_(setup.batch) {
  ensure_fd_budget(setup.flows);
  const sockaddr_in dst = setup.dst.sockaddr();
  socks_.reserve(setup.flows);
  ports_.reserve(setup.flows);
  for (std::uint32_t f = 0; f < setup.flows; ++f) {
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
      if (::bind(s.get(), reinterpret_cast<const sockaddr *>(&any), sizeof any) != 0) {
        throw_errno(errno, fmt::format("bind flow {} to --src-port {}+{}", f, *setup.src_port, f));
      }
    }
    if (::connect(s.get(), reinterpret_cast<const sockaddr *>(&dst), sizeof dst) != 0) {
      throw_errno(errno, fmt::format("connect flow {} to {}", f, setup.dst.to_string()));
    }
    if (f == 0) check_path_mtu(s.get(), setup); // every flow takes the same route
    ports_.push_back(ntohs(local_name(s.get(), f).sin_port));
    socks_.push_back(std::move(s));
  }
  for (std::size_t i = 0; i < hdrs_.size(); ++i) {
    iov_[i] = iovec{.iov_base = buffers_.data() + i * slot_bytes_, .iov_len = slot_bytes_};
    hdrs_[i] = mmsghdr{};
    hdrs_[i].msg_hdr.msg_iov = &iov_[i];
    hdrs_[i].msg_hdr.msg_iovlen = 1;
  }
}

void SendmmsgTx::check_path_mtu(int fd, const TxSetup &setup) const {
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

void SendmmsgTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                      std::span<int> outcome) {
  const std::size_t n = std::min({msgs.size(), outcome.size(), hdrs_.size()});
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  for (std::size_t i = 0; i < n; ++i) {
    std::span<std::byte> slot(buffers_.data() + i * slot_bytes_, slot_bytes_);
    encode_payload(PayloadHeader{.flow = msgs[i].flow, .seq = msgs[i].seq, .send_ns = send_ns},
                   slot);
    iov_[i].iov_len = std::min<std::size_t>(msgs[i].payload_bytes, slot_bytes_);
  }
  // sendmmsg works on one socket: send each run of same-flow messages.
  std::size_t i = 0;
  while (i < n) {
    std::size_t end = i + 1;
    while (end < n && msgs[end].flow == msgs[i].flow)
      ++end;
    const int fd = socks_[msgs[i].flow].get();
    while (i < end) {
      // MSG_DONTWAIT: a full socket buffer is a counted EAGAIN, never a stall
      // past the pacing schedule or the run's deadline.
      int r = ::sendmmsg(fd, &hdrs_[i], static_cast<unsigned>(end - i), MSG_DONTWAIT);
      if (r <= 0) {
        // r < n stops at the failing message without its errno; retrying from
        // there (this call) reports it. 0 cannot happen for vlen > 0.
        outcome[i] = r < 0 ? errno : EAGAIN;
        return; // the rest stays kTxNotTried, keeping the sent prefix contiguous
      }
      std::fill_n(outcome.begin() + static_cast<std::ptrdiff_t>(i), r, kTxSent);
      i += static_cast<std::size_t>(r);
    }
  }
}

} // namespace droplab::gen
