// UDP GRO on the sink's socket (--gro, UDP_GRO, Linux >= 5.0): the kernel may
// hand one read several datagrams of one flow back to back, with a UDP_GRO
// cmsg giving the segment size. Splitting them here keeps the accounting per
// datagram, exactly as without GRO.
#pragma once

#include "droplab/sink/rx_backend.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace droplab::sink {

// A coalesced read holds at most a 64 KiB UDP payload.
inline constexpr std::size_t kGroSlotBytes = 65535;
inline constexpr std::size_t kGroControlBytes = CMSG_SPACE(sizeof(int));

// The segment size a UDP_GRO cmsg carries, or 0 for any other cmsg.
inline std::size_t gro_segment_size(const cmsghdr* c) {
  if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) return 0;
  int v = 0;
  std::memcpy(&v, CMSG_DATA(c), sizeof v);
  return v > 0 ? static_cast<std::size_t>(v) : 0;
}

// Appends the datagrams of one read to `out`: one if `seg` is 0 (not
// coalesced) or covers the whole `length`, else segments of `seg` bytes with
// a shorter last one. `copied` bytes of `data` are valid (the rest was cut
// by the slot size: those segments keep their length but have no head).
inline void split_gro(const std::byte* data, std::size_t copied, std::size_t length,
                      std::size_t seg, std::uint64_t rx_ns, std::vector<RxDatagram>& out,
                      GroCounts& counts) {
  if (seg == 0 || length <= seg) {
    out.push_back(
        {.head = {data, std::min(copied, length)}, .length = length, .kernel_rx_ns = rx_ns});
    return;
  }
  ++counts.buffers;
  for (std::size_t off = 0; off < length; off += seg) {
    const std::size_t len = std::min(seg, length - off);
    const std::size_t have = off < copied ? std::min(len, copied - off) : 0;
    out.push_back({.head = {data + off, have}, .length = len, .kernel_rx_ns = rx_ns});
    ++counts.datagrams;
  }
}

} // namespace droplab::sink
