// The af_packet frame builder against frames computed independently (Python's
// struct + RFC 1071, see the hex below), and the checksum identities a
// receiver applies.
#include "gen/frame.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace droplab::gen {
namespace {

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::byte>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

FrameAddrs lab_addrs() {
  FrameAddrs a{.src_mac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01},
               .dst_mac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x02},
               .src_port = 49152,
               .dst_port = 9000};
  ::inet_pton(AF_INET, "198.18.100.1", &a.src);
  ::inet_pton(AF_INET, "198.18.100.2", &a.dst);
  return a;
}

struct KnownFrame {
  std::size_t wire;
  std::string hex; // the first bytes of the frame; the rest of the payload is zero
  std::size_t len;
};

TEST(Frame, MatchesKnownGoodFrames) {
  const KnownFrame cases[] = {
      {.wire = 64,
       .hex = "02005e00000202005e00000108004500002e000040004011e696c6126401c6126402c0002328001ab597"
              "0bd101000100020000000300000000000000",
       .len = 60},
      {.wire = 100,
       .hex = "02005e00000202005e000001080045000052000040004011e672c6126401c6126402c0002328003eb54f"
              "0bd101000100020000000300000000000000",
       .len = 96},
  };
  const FrameTemplate t(lab_addrs());
  for (const auto& c : cases) {
    std::vector<std::byte> buf(2048, std::byte{0});
    const std::size_t len = t.build(buf, c.wire, PayloadHeader{.flow = 1, .seq = 2, .send_ns = 3});
    EXPECT_EQ(len, c.len);
    const auto want = from_hex(c.hex);
    for (std::size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(buf[i], want[i]) << "wire " << c.wire << " byte " << i;
  }
}

// What a receiver checks: the IPv4 header sums to 0xffff, and so does the UDP
// pseudo-header + datagram.
void expect_valid(const std::vector<std::byte>& f, std::size_t len) {
  const std::span<const std::byte> ip(f.data() + 14, 20);
  EXPECT_EQ(fold_complement(ones_sum(ip)), 0);
  const std::span<const std::byte> udp(f.data() + 34, len - 34);
  std::uint32_t pseudo = ones_sum(std::span<const std::byte>(f.data() + 26, 8)) + IPPROTO_UDP +
                         static_cast<std::uint32_t>(udp.size());
  EXPECT_EQ(fold_complement(ones_sum(udp, pseudo)), 0);
}

TEST(Frame, ChecksumsHoldForManyHeadersAndSizes) {
  FrameAddrs a = lab_addrs();
  for (std::uint16_t port :
       {std::uint16_t{1}, std::uint16_t{9000}, std::uint16_t{49152}, std::uint16_t{65535}}) {
    a.src_port = port;
    const FrameTemplate t(a);
    for (std::size_t wire : {64, 65, 570, 1518, 9000}) {
      for (std::uint32_t seq : {0u, 1u, 0xffffffffu, 123456789u}) {
        std::vector<std::byte> buf(9000, std::byte{0});
        const std::size_t len = t.build(
            buf, wire, PayloadHeader{.flow = port, .seq = seq, .send_ns = 0x0123456789abcdefULL});
        ASSERT_EQ(len, wire - 4);
        expect_valid(buf, len);
      }
    }
  }
}

TEST(Frame, CarriesTheDroplabHeader) {
  const FrameTemplate t(lab_addrs());
  std::vector<std::byte> buf(128, std::byte{0});
  t.build(buf, 64, PayloadHeader{.flow = 7, .seq = 42, .send_ns = 99});
  auto h = decode_payload(std::span<const std::byte>(buf.data() + kFrameHeadersBytes, 18));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flow, 7);
  EXPECT_EQ(h->seq, 42u);
  EXPECT_EQ(h->send_ns, 99u);
}

TEST(Frame, ZeroChecksumIsSentAsAllOnes) {
  // RFC 768: a computed 0 goes out as 0xffff. Search a seq that computes 0.
  const FrameTemplate t(lab_addrs());
  std::vector<std::byte> buf(128, std::byte{0});
  bool found = false;
  for (std::uint32_t seq = 0; seq < 70000 && !found; ++seq) {
    t.build(buf, 64, PayloadHeader{.flow = 0, .seq = seq, .send_ns = 0});
    const auto hi = std::to_integer<unsigned>(buf[40]), lo = std::to_integer<unsigned>(buf[41]);
    ASSERT_FALSE(hi == 0 && lo == 0) << "seq " << seq;
    found = hi == 0xff && lo == 0xff;
  }
  EXPECT_TRUE(found);
}

} // namespace
} // namespace droplab::gen

TEST(FrameFault, BadUdpChecksumIsWrongButNeverZero) {
  using namespace droplab;
  using namespace droplab::gen;
  FrameAddrs a{.src_mac = {}, .dst_mac = {}, .src = {}, .dst = {}, .src_port = 1234, .dst_port = 9000};
  inet_pton(AF_INET, "198.18.0.1", &a.src);
  inet_pton(AF_INET, "198.18.0.2", &a.dst);
  FrameAddrs bad = a;
  bad.bad_udp_checksum = true;
  for (std::uint32_t seq = 0; seq < 2000; ++seq) {
    std::array<std::byte, 128> good_frame{}, bad_frame{};
    PayloadHeader h{.flow = 0, .seq = seq, .send_ns = 42};
    FrameTemplate(a).build(good_frame, 64, h);
    FrameTemplate(bad).build(bad_frame, 64, h);
    auto csum = [](const std::array<std::byte, 128>& f) {
      return (std::to_integer<unsigned>(f[40]) << 8) | std::to_integer<unsigned>(f[41]);
    };
    ASSERT_NE(csum(bad_frame), csum(good_frame)) << seq;
    ASSERT_NE(csum(bad_frame), 0u) << seq;
    // Everything but the checksum is identical.
    good_frame[40] = bad_frame[40];
    good_frame[41] = bad_frame[41];
    ASSERT_EQ(good_frame, bad_frame) << seq;
  }
}
