#include "gen/link.hpp"

#include "droplab/addr.hpp"
#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/fd.hpp"
#include "droplab/units.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace droplab::gen {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The source address the kernel would use towards dst (connect, no traffic).
in_addr route_source(in_addr dst) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno(errno, "socket(AF_INET, SOCK_DGRAM) for the route lookup");
  sockaddr_in sa{.sin_family = AF_INET, .sin_port = htons(9), .sin_addr = dst, .sin_zero = {}};
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    throw_errno(errno, fmt::format("no route to {} (connect)", ipv4_to_string(dst)));
  }
  socklen_t len = sizeof sa;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    throw_errno(errno, "getsockname for the route lookup");
  }
  return sa.sin_addr;
}

// Longest-prefix match in /proc/net/route on `dev`: the gateway, 0 if on-link.
in_addr route_gateway(in_addr dst, const std::string& dev) {
  std::istringstream in(slurp("/proc/net/route"));
  std::string line;
  std::getline(in, line); // header
  int best_len = -1;
  in_addr gw{};
  while (std::getline(in, line)) {
    char ifname[IFNAMSIZ + 1] = {};
    unsigned d = 0, g = 0, flags = 0, ref = 0, use = 0, metric = 0, mask = 0;
    if (std::sscanf(line.c_str(), "%16s %x %x %x %u %u %u %x", ifname, &d, &g, &flags, &ref, &use,
                    &metric, &mask) != 8)
      continue;
    if (dev != ifname || (dst.s_addr & mask) != d) continue;
    const int len = __builtin_popcount(mask);
    if (len > best_len) {
      best_len = len;
      gw.s_addr = g;
    }
  }
  return gw;
}

void ifreq_named(ifreq& r, const std::string& dev) {
  std::memset(&r, 0, sizeof r);
  std::snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev.c_str());
}

} // namespace

void check_rate_fits_link(double pps, double mean_size, std::uint64_t speed_mbps,
                          const std::string& dev, const std::string& rate_text) {
  constexpr double kPreambleAndGap = 20;
  const double bits_per_frame = (mean_size + kPreambleAndGap) * 8;
  const double link_bps = static_cast<double>(speed_mbps) * 1e6;
  if (pps * bits_per_frame <= link_bps) return;
  throw UsageError(fmt::format("--rate {}: {:.0f}-byte frames at {} need {} with preamble and gap, "
                               "above the {} Mbit/s of {}; the most it carries is {}",
                               rate_text, mean_size, format_pps(pps),
                               format_bps(pps * bits_per_frame), speed_mbps, dev,
                               format_pps(link_bps / bits_per_frame)));
}

std::string mac_to_string(const Mac& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

LinkInfo resolve_link(in_addr dst, const std::string& dev) {
  LinkInfo l;
  l.dev = dev;
  if (l.dev.empty()) {
    const in_addr src = route_source(dst);
    ifaddrs* ifs = nullptr;
    if (::getifaddrs(&ifs) != 0) throw_errno(errno, "getifaddrs");
    for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
      if (reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr != src.s_addr)
        continue;
      l.dev = i->ifa_name;
      break;
    }
    ::freeifaddrs(ifs);
    if (l.dev.empty()) {
      throw std::runtime_error(fmt::format("the route to {} leaves from {}, which no device holds; "
                                           "give --dev",
                                           ipv4_to_string(dst), ipv4_to_string(src)));
    }
  }
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno(errno, "socket(AF_INET, SOCK_DGRAM) for device ioctls");
  ifreq r{};
  ifreq_named(r, l.dev);
  if (::ioctl(s.get(), SIOCGIFINDEX, &r) != 0) throw_errno(errno, "SIOCGIFINDEX on " + l.dev);
  l.ifindex = r.ifr_ifindex;
  ifreq_named(r, l.dev);
  if (::ioctl(s.get(), SIOCGIFHWADDR, &r) != 0) throw_errno(errno, "SIOCGIFHWADDR on " + l.dev);
  if (r.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    throw std::runtime_error(fmt::format("af_packet: {} is not an Ethernet device", l.dev));
  }
  std::memcpy(l.mac.data(), r.ifr_hwaddr.sa_data, 6);
  ifreq_named(r, l.dev);
  if (::ioctl(s.get(), SIOCGIFADDR, &r) != 0) throw_errno(errno, "SIOCGIFADDR on " + l.dev);
  l.addr = reinterpret_cast<const sockaddr_in*>(&r.ifr_addr)->sin_addr;
  ifreq_named(r, l.dev);
  if (::ioctl(s.get(), SIOCGIFMTU, &r) != 0) throw_errno(errno, "SIOCGIFMTU on " + l.dev);
  l.mtu = r.ifr_mtu;
  // veth reports 10000; a down link or a driver without speed gives -1 / EINVAL.
  long speed = -1;
  std::istringstream(slurp("/sys/class/net/" + l.dev + "/speed")) >> speed;
  if (speed > 0) l.speed_mbps = static_cast<std::uint64_t>(speed);
  const in_addr gw = route_gateway(dst, l.dev);
  l.next_hop = gw.s_addr != 0 ? gw : dst;
  return l;
}

std::optional<Mac> parse_proc_arp(std::string_view text, in_addr ip, const std::string& dev) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::getline(in, line); // header
  const std::string want = ipv4_to_string(ip);
  while (std::getline(in, line)) {
    char addr[64] = {}, hw[64] = {}, mask[64] = {}, ifname[64] = {};
    unsigned type = 0, flags = 0;
    if (std::sscanf(line.c_str(), "%63s %x %x %63s %63s %63s", addr, &type, &flags, hw, mask,
                    ifname) != 6)
      continue;
    if (want != addr || dev != ifname || (flags & ATF_COM) == 0) continue;
    std::array<unsigned, 6> v{};
    if (std::sscanf(hw, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
      continue;
    Mac m{};
    for (std::size_t i = 0; i < 6; ++i)
      m[i] = static_cast<std::uint8_t>(v[i]);
    return m;
  }
  return std::nullopt;
}

std::optional<Mac> neighbour_mac(in_addr ip, const std::string& dev) {
  return parse_proc_arp(slurp("/proc/net/arp"), ip, dev);
}

std::optional<Mac> arp_resolve(const LinkInfo& link, in_addr ip,
                               std::chrono::milliseconds timeout) {
  Fd s(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!s) throw_errno(errno, "socket(AF_PACKET, SOCK_DGRAM, ETH_P_ARP) for ARP on " + link.dev);
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ARP);
  ll.sll_ifindex = link.ifindex;
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&ll), sizeof ll) != 0) {
    throw_errno(errno, "bind ARP socket to " + link.dev);
  }
  // RFC 826 request: Ethernet/IPv4, who has `ip`, tell link.addr.
  std::array<std::uint8_t, 28> req{0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  std::memcpy(&req[8], link.mac.data(), 6);
  std::memcpy(&req[14], &link.addr, 4);
  std::memcpy(&req[24], &ip, 4);
  sockaddr_ll to = ll;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  const std::uint64_t end = mono_ns() + static_cast<std::uint64_t>(timeout.count()) * 1'000'000ULL;
  const std::uint64_t retry_ns = static_cast<std::uint64_t>(timeout.count()) * 1'000'000ULL / 3;
  std::uint64_t next_send = 0;
  for (std::uint64_t now = mono_ns(); now < end; now = mono_ns()) {
    if (now >= next_send) {
      if (::sendto(s.get(), req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                   sizeof to) < 0) {
        throw_errno(errno, "sendto(ARP request) on " + link.dev);
      }
      next_send = now + retry_ns;
    }
    pollfd p{.fd = s.get(), .events = POLLIN, .revents = 0};
    const int wait_ms = static_cast<int>((std::min(next_send, end) - now) / 1'000'000ULL) + 1;
    if (::poll(&p, 1, wait_ms) <= 0) continue;
    std::array<std::uint8_t, 64> rep{};
    const ssize_t n = ::recv(s.get(), rep.data(), rep.size(), MSG_DONTWAIT);
    // A reply (op 2) whose sender protocol address is `ip`.
    if (n >= 28 && rep[6] == 0 && rep[7] == 2 && std::memcmp(&rep[14], &ip, 4) == 0) {
      Mac m{};
      std::memcpy(m.data(), &rep[8], 6);
      return m;
    }
  }
  return std::nullopt;
}

} // namespace droplab::gen
