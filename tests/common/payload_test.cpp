#include "droplab/payload.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>

using namespace droplab;

TEST(Payload, FitsA64ByteFrame) {
  EXPECT_EQ(udp_payload_for_wire(64), 18u);
  EXPECT_LE(kPayloadHeaderBytes, udp_payload_for_wire(kMinWireSize));
}

TEST(Payload, RoundTripsAndHasAFixedLittleEndianLayout) {
  std::array<std::byte, kPayloadHeaderBytes> buf{};
  encode_payload({.flow = 0x0102, .seq = 0xA1B2C3D4, .send_ns = 0x1122334455667788ULL}, buf);
  const unsigned char expect[] = {0x0B, 0xD1, 1, 0, 0x02, 0x01, 0xD4, 0xC3, 0xB2,
                                  0xA1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  for (std::size_t i = 0; i < sizeof expect; ++i) {
    EXPECT_EQ(std::to_integer<unsigned>(buf[i]), expect[i]) << "byte " << i;
  }
  auto h = decode_payload(buf);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flow, 0x0102);
  EXPECT_EQ(h->seq, 0xA1B2C3D4u);
  EXPECT_EQ(h->send_ns, 0x1122334455667788ULL);
}

TEST(Payload, RejectsForeignOrShortPayloads) {
  std::array<std::byte, kPayloadHeaderBytes> buf{};
  encode_payload({.flow = 1, .seq = 2, .send_ns = 3}, buf);
  EXPECT_FALSE(decode_payload(std::span<const std::byte>(buf).first(kPayloadHeaderBytes - 1)));
  auto bad_magic = buf;
  bad_magic[0] = std::byte{0};
  EXPECT_FALSE(decode_payload(bad_magic));
  auto bad_version = buf;
  bad_version[2] = std::byte{99};
  EXPECT_FALSE(decode_payload(bad_version));
}
