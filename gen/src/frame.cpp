#include "gen/frame.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace droplab::gen {
namespace {

constexpr std::size_t kIpOff = kEthHeaderBytes;
constexpr std::size_t kUdpOff = kIpOff + kIpv4HeaderBytes;
constexpr std::uint8_t kDefaultTtl = 64;

void put16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v & 0xff);
}

} // namespace

std::uint32_t ones_sum(std::span<const std::byte> b, std::uint32_t sum) {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2)
    sum += (std::to_integer<std::uint32_t>(b[i]) << 8) | std::to_integer<std::uint32_t>(b[i + 1]);
  if (i < b.size()) sum += std::to_integer<std::uint32_t>(b[i]) << 8;
  return sum;
}

std::uint16_t fold_complement(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

FrameTemplate::FrameTemplate(const FrameAddrs& a) : bad_udp_checksum_(a.bad_udp_checksum) {
  std::byte* h = headers_.data();
  std::memcpy(h, a.dst_mac.data(), 6);
  std::memcpy(h + 6, a.src_mac.data(), 6);
  put16(h + 12, 0x0800); // IPv4
  std::byte* ip = h + kIpOff;
  ip[0] = std::byte{0x45}; // version 4, 20-byte header
  ip[1] = std::byte{0};    // DSCP/ECN
  // [2..3] total length per packet; [4..5] id 0: DF is set, so no fragments
  // need telling apart (RFC 6864).
  put16(ip + 6, 0x4000); // DF
  ip[8] = std::byte{kDefaultTtl};
  ip[9] = std::byte{IPPROTO_UDP};
  std::memcpy(ip + 12, &a.src, 4);
  std::memcpy(ip + 16, &a.dst, 4);
  ip_sum_ = ones_sum(std::span<const std::byte>(ip, kIpv4HeaderBytes));
  std::byte* udp = h + kUdpOff;
  put16(udp, a.src_port);
  put16(udp + 2, a.dst_port);
  // Pseudo-header: source, destination, zero+protocol; then the UDP ports.
  // Both lengths (pseudo-header and UDP header) are added per packet.
  udp_sum_ =
      ones_sum(std::span<const std::byte>(ip + 12, 8)) + IPPROTO_UDP + a.src_port + a.dst_port;
}

std::size_t FrameTemplate::build(std::span<std::byte> out, std::size_t wire_size,
                                 const PayloadHeader& h) const {
  const std::size_t frame_len = wire_size - kEthFcsBytes;
  const auto ip_len = static_cast<std::uint16_t>(frame_len - kEthHeaderBytes);
  const auto udp_len = static_cast<std::uint16_t>(ip_len - kIpv4HeaderBytes);
  std::byte* f = out.data();
  std::memcpy(f, headers_.data(), headers_.size());
  put16(f + kIpOff + 2, ip_len);
  put16(f + kIpOff + 10, fold_complement(ip_sum_ + ip_len));
  std::byte* udp = f + kUdpOff;
  put16(udp + 4, udp_len);
  auto payload = out.subspan(kFrameHeadersBytes, kPayloadHeaderBytes);
  encode_payload(h, payload);
  std::uint16_t csum = fold_complement(ones_sum(payload, udp_sum_ + 2u * udp_len));
  // 0 means "no checksum" in UDP over IPv4; its ones' complement twin is sent (RFC 768).
  if (csum == 0) csum = 0xffff;
  // Flipping bits of a correct checksum gives a wrong one; 0x5555 cannot turn
  // it into 0 (which would mean "no checksum") or into its 0xffff twin.
  if (bad_udp_checksum_) csum = static_cast<std::uint16_t>(csum ^ 0x5555);
  put16(udp + 6, csum);
  return frame_len;
}

} // namespace droplab::gen
