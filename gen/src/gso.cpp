#include "gen/gso.hpp"

#include "droplab/cli.hpp"
#include "droplab/fd.hpp"
#include "droplab/payload.hpp"
#include "droplab/units.hpp"
#include "gen/report.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace droplab::gen {

std::string GsoRequest::to_string() const {
  return automatic ? "auto" : std::to_string(segments);
}

GsoRequest parse_gso(const std::string& text) {
  if (text == "auto") return GsoRequest{.automatic = true, .segments = kMaxGsoSegments};
  std::uint64_t n = 0;
  try {
    n = parse_count(text);
  } catch (const UnitError&) {
    n = 0;
  }
  if (n < 1 || n > kMaxGsoSegments || text.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError(fmt::format("--gso {}: must be auto or a segment count 1..{} "
                                 "(datagrams per UDP GSO buffer; 1 = off)",
                                 text, kMaxGsoSegments));
  }
  return GsoRequest{.automatic = false, .segments = static_cast<std::uint32_t>(n)};
}

std::string probe_udp_gso() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return fmt::format("socket(AF_INET, SOCK_DGRAM) failed: {}", std::strerror(errno));
  int size = 1400;
  if (::setsockopt(s.get(), SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0) {
    return fmt::format("setsockopt(UDP_SEGMENT) failed: {} (UDP GSO needs Linux >= 4.18)",
                       std::strerror(errno));
  }
  return "";
}

GsoPlan plan_gso(const GsoRequest& req, BackendKind kind, double thread_pps, const ShapeSpec& shape,
                 std::size_t max_wire, bool zerocopy, const std::string& probe_error) {
  const bool asked = req.automatic || req.segments > 1;
  const std::string flag = "--gso " + req.to_string();
  if (!asked) return GsoPlan{.segments = 1, .reason = "off (--gso 1)"};
  // Explicit requests the run cannot honour are usage errors; auto just
  // stays off and says why.
  auto refuse = [&](const std::string& why) -> GsoPlan {
    if (!req.automatic) throw UsageError(fmt::format("{}: {}", flag, why));
    return GsoPlan{.segments = 1, .reason = "off: " + why};
  };
  if (kind == BackendKind::AfPacket) {
    return refuse("af_packet writes finished frames; UDP GSO needs --backend sendmmsg or io_uring");
  }
  if (zerocopy) return refuse("not combined with --zerocopy (io_uring SEND_ZC sends one datagram)");
  if (!probe_error.empty()) return refuse(probe_error);

  std::uint32_t n = req.segments;
  std::string why;
  const std::size_t payload = udp_payload_for_wire(max_wire);
  if (const auto fit = static_cast<std::uint32_t>(kMaxGsoBufferBytes / payload); fit < n) {
    n = std::max(1u, fit);
    why = fmt::format("{} datagrams of {} B payload fit in one 64 KiB UDP buffer", n, payload);
  }
  if (thread_pps > 0) {
    // Datagrams due within kGsoSpanNs at the rate the shape sends at.
    std::uint64_t span_cap = 0;
    std::string what;
    if (shape.kind == ShapeKind::Burst) {
      span_cap = shape.burst; // a burst leaves back to back by definition
      what = fmt::format("--burst {} sends {} back to back", shape.burst, shape.burst);
    } else {
      double pps = thread_pps;
      if (shape.kind == ShapeKind::OnOff && shape.on_ns > 0) {
        pps *= static_cast<double>(shape.on_ns + shape.off_ns) / static_cast<double>(shape.on_ns);
      }
      span_cap =
          static_cast<std::uint64_t>(std::floor(pps * static_cast<double>(kGsoSpanNs) / 1e9));
      what = fmt::format("at {} per thread, {} us of the schedule holds {} datagram(s)",
                         format_pps(pps), kGsoSpanNs / 1000, span_cap);
    }
    if (span_cap < n) {
      n = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, span_cap));
      why = what;
    }
  }
  if (n == req.segments) {
    return GsoPlan{.segments = n, .reason = fmt::format("{} datagrams per UDP_SEGMENT buffer", n)};
  }
  return GsoPlan{.segments = n,
                 .reason = fmt::format("{} datagram(s) per buffer, reduced from {}: {}{}", n,
                                       req.segments, why, n == 1 ? " (GSO off)" : "")};
}

void attach_udp_segment(msghdr& m, std::byte* space, std::uint16_t segment_bytes) {
  auto* c = reinterpret_cast<cmsghdr*>(space);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof segment_bytes);
  std::memcpy(CMSG_DATA(c), &segment_bytes, sizeof segment_bytes);
  m.msg_control = c;
  m.msg_controllen = kUdpSegmentCmsgSpace;
}

std::size_t gso_run_end(std::span<const TxMessage> msgs, std::size_t begin,
                        std::uint32_t segments) {
  const TxMessage& first = msgs[begin];
  std::size_t end = begin + 1;
  while (end < msgs.size() && end - begin < segments && msgs[end].flow == first.flow &&
         msgs[end - 1].payload_bytes == first.payload_bytes &&
         msgs[end].payload_bytes <= first.payload_bytes) {
    ++end;
  }
  return end;
}

void GsoCounters::fall_back(int err, const std::string& where) {
  fallback_ = fmt::format("{} on a {}-segment UDP GSO buffer ({}): the device cannot "
                          "checksum for GSO (tx checksum offload off?); sent one datagram per "
                          "send from then on",
                          errno_name(err), segments_, where);
  segments_ = 1;
}

void GsoCounters::add_to(BackendStats& s) const {
  if (planned_ <= 1) return;
  s["gso_buffers"] = buffers_;
  s["gso_datagrams"] = datagrams_;
  s["gso_fallbacks"] = fallback_.empty() ? 0 : 1;
  for (const auto& [err, n] : errors_)
    s["gso_error_" + errno_name(err)] = n;
}

} // namespace droplab::gen
