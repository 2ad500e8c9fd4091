// The droplab payload header: the first bytes of every UDP payload any droplab
// generator backend sends, so the sink can account per flow whatever sent it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace droplab {

// Frame overhead around the UDP payload on an Ethernet wire:
// Ethernet header 14 + FCS 4 + IPv4 20 + UDP 8.
inline constexpr std::size_t kEthHeaderBytes = 14;
inline constexpr std::size_t kEthFcsBytes = 4;
inline constexpr std::size_t kIpv4HeaderBytes = 20;
inline constexpr std::size_t kUdpHeaderBytes = 8;
inline constexpr std::size_t kWireOverheadBytes =
    kEthHeaderBytes + kEthFcsBytes + kIpv4HeaderBytes + kUdpHeaderBytes;
inline constexpr std::size_t kMinWireSize = 64;   // minimum Ethernet frame
inline constexpr std::size_t kMaxWireSize = 9000; // jumbo frame

// Encoded layout, little-endian, 18 bytes so it fits the 18-byte UDP payload
// of a 64-byte frame:
//   0  u16 magic 0xD10B     2 u8 version   3 u8 flags (0)
//   4  u16 flow id          6 u32 per-flow sequence (wraps; the sink extends it)
//   10 u64 send time, CLOCK_REALTIME ns (comparable across hosts with synced clocks)
inline constexpr std::uint16_t kPayloadMagic = 0xD10B;
inline constexpr std::uint8_t kPayloadVersion = 1;
inline constexpr std::size_t kPayloadHeaderBytes = 18;
static_assert(kPayloadHeaderBytes <= kMinWireSize - kWireOverheadBytes);

struct PayloadHeader {
  std::uint16_t flow = 0;
  std::uint32_t seq = 0;
  std::uint64_t send_ns = 0;
};

// UDP payload bytes for a frame of `wire_size` bytes on the wire.
constexpr std::size_t udp_payload_for_wire(std::size_t wire_size) {
  return wire_size - kWireOverheadBytes;
}

// Writes the header into the first kPayloadHeaderBytes of `out`
// (out.size() must be >= kPayloadHeaderBytes).
void encode_payload(const PayloadHeader& h, std::span<std::byte> out);

// Decodes a header; nullopt if the buffer is short, or magic/version differ.
std::optional<PayloadHeader> decode_payload(std::span<const std::byte> in);

} // namespace droplab
