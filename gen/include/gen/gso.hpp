// UDP GSO (UDP_SEGMENT, Linux >= 4.18) for the socket backends: one send
// carries up to N datagrams as one buffer and the kernel cuts it into N
// frames of the segment size at the device (or in software before it). Every
// segment starts with its own droplab header, so a receiver sees exactly the
// datagrams it would see without GSO.
//
// Pure planning (flag parsing, the per-thread segment count, how a batch is
// cut into buffers) plus the counters both backends report, so the rules are
// unit-tested without a socket.
#pragma once

#include "gen/config.hpp"
#include "gen/tx_backend.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace droplab::gen {

// UDP_MAX_SEGMENTS of Linux 4.18 .. 6.x (some newer kernels allow 128).
inline constexpr std::uint32_t kMaxGsoSegments = 64;
// The largest UDP payload one buffer may carry: 65535 - 20 (IPv4) - 8 (UDP).
inline constexpr std::size_t kMaxGsoBufferBytes = 65507;
// At a paced rate one buffer may hold only the datagrams due within this
// span of the schedule: they leave back to back, and a wake-up of the send
// loop sends what is due in one go anyway, so GSO never moves a datagram
// earlier than the pacer would (50 us is about one timer wake-up here).
inline constexpr std::uint64_t kGsoSpanNs = 50'000;

// Parses --gso. Throws UsageError naming the flag, the value and the range.
GsoRequest parse_gso(const std::string& text);

// "" if this kernel accepts setsockopt(UDP_SEGMENT) on a UDP socket, else
// what failed. (A device without checksum offload still refuses GSO sends
// with EIO; the backends fall back for that at send time.)
std::string probe_udp_gso();

// The segment count one thread uses and why it differs from the request.
struct GsoPlan {
  std::uint32_t segments = 1;
  std::string reason; // always set: what was decided and why
};

// Decides the segments per buffer for a thread sending `thread_pps` (0 =
// unpaced) with frames of at most `max_wire` bytes. `probe_error` is
// probe_udp_gso()'s answer. Throws UsageError for an explicit --gso N > 1 the
// backend or kernel cannot do.
GsoPlan plan_gso(const GsoRequest& req, BackendKind kind, double thread_pps, const ShapeSpec& shape,
                 std::size_t max_wire, bool zerocopy, const std::string& probe_error);

// The end of the GSO buffer starting at msgs[begin]: at most `segments`
// messages of one flow, all of msgs[begin]'s payload size except that the
// last may be shorter (the kernel's rule for UDP_SEGMENT).
std::size_t gso_run_end(std::span<const TxMessage> msgs, std::size_t begin, std::uint32_t segments);

// The control message space one UDP_SEGMENT option takes.
inline constexpr std::size_t kUdpSegmentCmsgSpace = CMSG_SPACE(sizeof(std::uint16_t));

// Makes `m` a GSO buffer of `segment_bytes`-long segments: writes the
// UDP_SEGMENT option into `space` (kUdpSegmentCmsgSpace bytes, aligned for a
// cmsghdr, outliving the send) and points m's control data at it.
void attach_udp_segment(msghdr& m, std::byte* space, std::uint16_t segment_bytes);

// What a GSO-capable backend did with its buffers, for BackendStats.
class GsoCounters {
public:
  explicit GsoCounters(std::uint32_t segments) : segments_(segments) {}

  // Segments per buffer in force now (1 after a fallback).
  std::uint32_t segments() const { return segments_; }
  void sent(std::uint64_t buffers, std::uint64_t datagrams) {
    buffers_ += buffers;
    datagrams_ += datagrams;
  }
  void failed(int err) { ++errors_[err]; }
  // EIO on a multi-segment buffer: the device cannot checksum (tx checksum
  // offload off), which UDP GSO needs (udp_send_skb). Switches to one
  // datagram per send for the rest of the run and records why.
  void fall_back(int err, const std::string& where);

  const std::string& fallback() const { return fallback_; }
  // gso_buffers, gso_datagrams, gso_error_<ERRNO>; empty if GSO was never on.
  void add_to(BackendStats& s) const;

private:
  std::uint32_t segments_;
  std::uint32_t planned_ = segments_;
  std::uint64_t buffers_ = 0;
  std::uint64_t datagrams_ = 0;
  std::map<int, std::uint64_t> errors_;
  std::string fallback_;
};

} // namespace droplab::gen
