// RAII owners of an AF_PACKET socket and its mmap'd PACKET_TX_RING
// (TPACKET_V2), as netsniff-ng splits ring.c / ring_tx.c.
#pragma once

#include "droplab/fd.hpp"
#include "gen/link.hpp"

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace droplab::gen {

// Move-only owner of one mmap(2) mapping.
class MmapRegion {
public:
  MmapRegion() = default;
  MmapRegion(void* addr, std::size_t len) noexcept : addr_(addr), len_(len) {}
  MmapRegion(const MmapRegion&) = delete;
  MmapRegion& operator=(const MmapRegion&) = delete;
  MmapRegion(MmapRegion&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  MmapRegion& operator=(MmapRegion&& o) noexcept;
  ~MmapRegion() { reset(); }

  std::byte* data() const { return static_cast<std::byte*>(addr_); }
  std::size_t size() const { return len_; }
  void reset() noexcept;

private:
  void* addr_ = nullptr;
  std::size_t len_ = 0;
};

class PacketRing {
public:
  // Opens a TX-only AF_PACKET socket on `link` (bound with protocol 0, so it
  // receives nothing) with a TX ring of frames holding at least max_frame_len
  // bytes each. Throws std::system_error naming the call and the device.
  PacketRing(const LinkInfo& link, std::size_t max_frame_len, bool qdisc_bypass);

  std::uint32_t frames() const { return frame_nr_; }
  // The V2 header of frame i; its data starts at data(i).
  tpacket2_hdr* header(std::uint32_t i) const {
    return reinterpret_cast<tpacket2_hdr*>(map_.data() + std::size_t{i} * frame_size_);
  }
  std::byte* data(std::uint32_t i) const;
  std::size_t max_frame_len() const;

  // Asks the kernel to transmit every frame marked TP_STATUS_SEND_REQUEST,
  // without blocking. Returns 0 or the errno of sendto(2).
  int kick() const;

  // Opens and closes a one-block ring: "" if it works here, else why not.
  static std::string probe();

private:
  Fd fd_;
  MmapRegion map_;
  std::size_t frame_size_ = 0;
  std::uint32_t frame_nr_ = 0;
};

} // namespace droplab::gen
