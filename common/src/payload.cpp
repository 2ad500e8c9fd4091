#include "droplab/payload.hpp"

#include <cstring>

namespace droplab {
namespace {

template <typename T> void put_le(std::byte* p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  }
}

template <typename T> T get_le(const std::byte* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>(v | (static_cast<T>(std::to_integer<std::uint8_t>(p[i])) << (8 * i)));
  }
  return v;
}

} // namespace

void encode_payload(const PayloadHeader& h, std::span<std::byte> out) {
  std::byte* p = out.data();
  put_le<std::uint16_t>(p + 0, kPayloadMagic);
  p[2] = static_cast<std::byte>(kPayloadVersion);
  p[3] = std::byte{0};
  put_le<std::uint16_t>(p + 4, h.flow);
  put_le<std::uint32_t>(p + 6, h.seq);
  put_le<std::uint64_t>(p + 10, h.send_ns);
}

std::optional<PayloadHeader> decode_payload(std::span<const std::byte> in) {
  if (in.size() < kPayloadHeaderBytes) return std::nullopt;
  const std::byte* p = in.data();
  if (get_le<std::uint16_t>(p) != kPayloadMagic) return std::nullopt;
  if (std::to_integer<std::uint8_t>(p[2]) != kPayloadVersion) return std::nullopt;
  return PayloadHeader{
      .flow = get_le<std::uint16_t>(p + 4),
      .seq = get_le<std::uint32_t>(p + 6),
      .send_ns = get_le<std::uint64_t>(p + 10),
  };
}

} // namespace droplab
