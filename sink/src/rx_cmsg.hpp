// Control messages every socket backend asks for: SO_RXQ_OVFL (the socket's
// drop count) and SO_TIMESTAMPNS (when the kernel received the datagram).
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <optional>

namespace droplab::sink {

// Room for both cmsgs of one datagram.
inline constexpr std::size_t kRxControlBytes =
    CMSG_SPACE(sizeof(std::uint32_t)) + CMSG_SPACE(sizeof(timespec));

// Reads one control message: SO_RXQ_OVFL updates `rxq_ovfl`, SCM_TIMESTAMPNS
// sets `rx_ns`; anything else is ignored.
inline void parse_rx_cmsg(const cmsghdr* c, std::optional<std::uint64_t>& rxq_ovfl,
                          std::uint64_t& rx_ns) {
  if (c->cmsg_level != SOL_SOCKET) return;
  if (c->cmsg_type == SO_RXQ_OVFL) {
    std::uint32_t v = 0;
    std::memcpy(&v, CMSG_DATA(c), sizeof v);
    rxq_ovfl = v; // datagrams arrive in queue order: the last is the latest
  } else if (c->cmsg_type == SCM_TIMESTAMPNS) {
    timespec ts{};
    std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
    rx_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
            static_cast<std::uint64_t>(ts.tv_nsec);
  }
}

} // namespace droplab::sink
