#include "gen/packet_ring.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_ether.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::gen {
namespace {

// TX frames carry their data right after the aligned V2 header when
// PACKET_TX_HAS_OFF is not set (net/packet/af_packet.c, tpacket_fill_skb).
constexpr std::size_t kTxDataOffset = TPACKET2_HDRLEN - sizeof(sockaddr_ll);
constexpr std::size_t kMinFrameSize = 128;
constexpr std::uint32_t kWantFrames = 4096;
constexpr std::size_t kMaxRingBytes = 16u << 20;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

Fd packet_socket(const std::string& what) {
  Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!s) throw_errno(errno, "socket(AF_PACKET, SOCK_RAW) " + what);
  int v = TPACKET_V2;
  if (::setsockopt(s.get(), SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) {
    throw_errno(errno, "setsockopt(PACKET_VERSION, TPACKET_V2) " + what);
  }
  return s;
}

} // namespace

MmapRegion& MmapRegion::operator=(MmapRegion&& o) noexcept {
  if (this != &o) {
    reset();
    addr_ = std::exchange(o.addr_, nullptr);
    len_ = std::exchange(o.len_, 0);
  }
  return *this;
}

void MmapRegion::reset() noexcept {
  if (addr_ != nullptr) ::munmap(addr_, len_);
  addr_ = nullptr;
  len_ = 0;
}

PacketRing::PacketRing(const LinkInfo& link, std::size_t max_frame_len, bool qdisc_bypass) {
  const std::string on = "on " + link.dev;
  fd_ = packet_socket(on);
  if (qdisc_bypass) {
    int one = 1; // Linux >= 3.14
    if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) {
      throw_errno(errno, "setsockopt(PACKET_QDISC_BYPASS) " + on);
    }
  }
  frame_size_ = std::max(kMinFrameSize, std::bit_ceil(kTxDataOffset + max_frame_len));
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t block = std::max(page, frame_size_);
  const std::size_t per_block = block / frame_size_;
  const std::size_t want =
      std::min<std::size_t>(kWantFrames, std::max<std::size_t>(kMaxRingBytes / frame_size_, 64));
  const std::size_t blocks = (want + per_block - 1) / per_block;
  frame_nr_ = static_cast<std::uint32_t>(blocks * per_block);
  tpacket_req req{.tp_block_size = static_cast<unsigned>(block),
                  .tp_block_nr = static_cast<unsigned>(blocks),
                  .tp_frame_size = static_cast<unsigned>(frame_size_),
                  .tp_frame_nr = frame_nr_};
  if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0) {
    throw_errno(errno, fmt::format("setsockopt(PACKET_TX_RING, {} frames of {} B) {}", frame_nr_,
                                   frame_size_, on));
  }
  const std::size_t len = block * blocks;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.get(), 0);
  if (p == MAP_FAILED) throw_errno(errno, fmt::format("mmap(PACKET_TX_RING, {} B) {}", len, on));
  map_ = MmapRegion(p, len);
  // Protocol 0: no receive hook, so the socket never queues copies of traffic.
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = 0;
  ll.sll_ifindex = link.ifindex;
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&ll), sizeof ll) != 0) {
    throw_errno(errno, "bind(AF_PACKET) " + on);
  }
}

std::byte* PacketRing::data(std::uint32_t i) const {
  return map_.data() + std::size_t{i} * frame_size_ + kTxDataOffset;
}

std::size_t PacketRing::max_frame_len() const {
  return frame_size_ - kTxDataOffset;
}

int PacketRing::kick() const {
  if (::sendto(fd_.get(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) return errno;
  return 0;
}

std::string PacketRing::probe() {
  Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!s) {
    const int err = errno;
    if (err == EPERM || err == EACCES) return "socket(AF_PACKET) refused: needs CAP_NET_RAW";
    return fmt::format("socket(AF_PACKET) failed: {}", std::strerror(err));
  }
  int v = TPACKET_V2;
  if (::setsockopt(s.get(), SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) {
    return fmt::format("TPACKET_V2 not supported: {}", std::strerror(errno));
  }
  const auto page = static_cast<unsigned>(::sysconf(_SC_PAGESIZE));
  tpacket_req req{.tp_block_size = page, .tp_block_nr = 1, .tp_frame_size = page, .tp_frame_nr = 1};
  if (::setsockopt(s.get(), SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0) {
    return fmt::format("PACKET_TX_RING not supported: {}", std::strerror(errno));
  }
  return "";
}

} // namespace droplab::gen
