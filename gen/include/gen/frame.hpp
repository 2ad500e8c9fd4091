// Ethernet/IPv4/UDP frames for the af_packet backend, with valid IPv4 header
// and UDP checksums. Per flow the headers are fixed, so a FrameTemplate
// precomputes them and their checksum sums; per packet only the lengths and
// the 18-byte droplab payload header change.
#pragma once

#include "droplab/payload.hpp"
#include "gen/link.hpp"

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace droplab::gen {

inline constexpr std::size_t kFrameHeadersBytes =
    kEthHeaderBytes + kIpv4HeaderBytes + kUdpHeaderBytes;

struct FrameAddrs {
  Mac src_mac{};
  Mac dst_mac{};
  in_addr src{};
  in_addr dst{};
  std::uint16_t src_port = 0; // host byte order
  std::uint16_t dst_port = 0;
  // A deliberate fault: a wrong (never zero) UDP checksum, so the receiver's
  // UDP drops the datagram as UDP_CSUM (Udp InCsumErrors).
  bool bad_udp_checksum = false;
};

// RFC 1071 sum of big-endian 16-bit words (an odd last byte is padded), unfolded.
std::uint32_t ones_sum(std::span<const std::byte> bytes, std::uint32_t sum = 0);
// Folds a sum to 16 bits and complements it.
std::uint16_t fold_complement(std::uint32_t sum);

class FrameTemplate {
public:
  explicit FrameTemplate(const FrameAddrs& a);

  // Writes one frame of `wire_size` bytes on the wire (the frame is 4 bytes
  // shorter: no FCS) into `out` and returns its length. Precondition: the
  // payload bytes after the droplab header are already zero in `out` (ring
  // frames are never written there), since the checksum assumes them zero.
  std::size_t build(std::span<std::byte> out, std::size_t wire_size, const PayloadHeader& h) const;

private:
  std::array<std::byte, kFrameHeadersBytes> headers_{};
  std::uint32_t ip_sum_ = 0;  // IPv4 header with total length and checksum 0
  std::uint32_t udp_sum_ = 0; // pseudo-header addresses + protocol + ports
  bool bad_udp_checksum_ = false;
};

} // namespace droplab::gen
