// Neighbour-table parsing on captured /proc/net/arp text, and the line-rate
// check behind "a rate above what the size and link allow".
#include "gen/link.hpp"

#include "droplab/cli.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace droplab::gen {
namespace {

in_addr ip(const char* s) {
  in_addr a{};
  ::inet_pton(AF_INET, s, &a);
  return a;
}

// Linux 6.18, inside a lab namespace: one complete entry, one incomplete.
constexpr const char* kArp =
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "198.18.100.2     0x1         0x2         02:00:5e:00:00:02     *        dlv\n"
    "198.18.100.3     0x1         0x0         00:00:00:00:00:00     *        dlv\n"
    "198.18.100.2     0x1         0x6         02:00:5e:00:00:09     *        other\n";

TEST(Link, ProcArpGivesCompleteEntriesOnTheDevice) {
  auto m = parse_proc_arp(kArp, ip("198.18.100.2"), "dlv");
  ASSERT_TRUE(m);
  EXPECT_EQ(mac_to_string(*m), "02:00:5e:00:00:02");
  EXPECT_EQ(mac_to_string(*parse_proc_arp(kArp, ip("198.18.100.2"), "other")), "02:00:5e:00:00:09");
  EXPECT_FALSE(parse_proc_arp(kArp, ip("198.18.100.3"), "dlv")); // incomplete
  EXPECT_FALSE(parse_proc_arp(kArp, ip("198.18.100.4"), "dlv"));
  EXPECT_FALSE(parse_proc_arp("", ip("198.18.100.2"), "dlv"));
}

TEST(Link, RateAboveTheLinkIsAUsageErrorNamingTheLimit) {
  // 10 Gbit/s carries 14.88 Mpps of 64-byte frames (84 bytes with preamble and gap).
  EXPECT_NO_THROW(check_rate_fits_link(14.8e6, 64, 10000, "veth0", "14.8Mpps"));
  try {
    check_rate_fits_link(20e6, 64, 10000, "veth0", "20.00 Mpps");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--rate 20.00 Mpps"), std::string::npos) << msg;
    EXPECT_NE(msg.find("10000 Mbit/s of veth0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("14.881 Mpps"), std::string::npos) << msg;
  }
  // Bigger frames, lower ceiling: 1 Mpps of 1518 B needs 12.3 Gbit/s.
  EXPECT_THROW(check_rate_fits_link(1e6, 1518, 10000, "veth0", "1Mpps"), UsageError);
  EXPECT_NO_THROW(check_rate_fits_link(0, 1518, 10, "veth0", "max")); // unpaced is never refused
}

} // namespace
} // namespace droplab::gen
