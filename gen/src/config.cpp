#include "gen/config.hpp"

#include "droplab/cli.hpp"
#include "droplab/json_util.hpp"
#include "droplab/payload.hpp"
#include "gen/gso.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <string_view>

namespace droplab::gen {
namespace {

constexpr const char* kFooter = R"(Units:
  --rate      pps, kpps, Mpps, Gpps (SI, x1000), or bit/s, kbit/s, Mbit/s, Gbit/s
              counting every wire byte of the frame (FCS included); "max" = unpaced.
  --duration  ns, us, ms, s, m; a bare number is seconds.
Time bound (every run stops by itself):
  --duration D            stops after D (or earlier at --count).
  --count N only          stops after N datagrams, or at N/rate + 10 s
                          (60 s with --rate max), whichever comes first.
  neither                 --duration 10s.
  SIGINT/SIGTERM stop early; the summary and --json are still written.
Safety: --dst must be in 198.18.0.0/15 (RFC 2544 benchmarking range); a --size
above the path MTU + 18 (Ethernet header + FCS) is refused.
Examples:
  droplab-gen --dst 198.18.0.2:9000 --rate 100kpps --duration 3s --json gen.json
  droplab-gen --dst 198.18.0.2:9000 --rate 10kpps --count 1234 --flows 4
  droplab-gen --dst 198.18.0.2:9000 --rate 1Gbit/s --size 1500 --duration 5
  droplab-gen --dst 198.18.0.2:9000 --backend af_packet --threads 2 --cpus 0,1 --duration 5
  droplab-gen --dst 198.18.0.2:9000 --rate 100kpps --pattern onoff:1ms/9ms --imix 64:7,570:4,1518:1
Backends (--backend, default auto):
  af_packet   PACKET_TX_RING (mmap'd ring), frames built here with valid IPv4/UDP
              checksums; needs CAP_NET_RAW. --qdisc-bypass skips the device qdisc.
              Destination MAC from the neighbour table (ARP-resolved if absent) or --dst-mac.
  io_uring    batched, linked send SQEs on connected UDP sockets, one ring per thread;
              --zerocopy uses SEND_ZC (Linux >= 6.0) and reports whether it was copied.
  sendmmsg    sendmmsg(2) on connected UDP sockets.
  --gso N     sendmmsg and io_uring: N datagrams (1..64, 1 = off) per UDP GSO buffer
              (UDP_SEGMENT), each with its own droplab header; auto = 64 if the kernel
              takes UDP_SEGMENT. At a paced rate a buffer holds only the datagrams due
              within 50 us of the schedule (the report says when N was reduced); a
              device without tx checksum offload (EIO) falls back to N = 1, reported.
  auto        probes af_packet, io_uring, sendmmsg in that order (fastest first; with
              --gso: io_uring, sendmmsg) and
              reports what it picked and why the others were passed over.
Shapes: constant (default); --burst N; --pattern onoff:ON/OFF; --pattern poisson.)";

// Runs a droplab unit parser, turning its error into one that names the flag.
template <typename F> auto parse_flag(const char* flag, const std::string& text, F&& parse) {
  try {
    return parse(text);
  } catch (const UnitError& e) {
    throw UsageError(fmt::format("{}: {}", flag, e.what()));
  }
}

std::uint64_t parse_ranged(const char* flag, const std::string& text, std::uint64_t lo,
                           std::uint64_t hi, const char* what) {
  std::uint64_t v = parse_flag(flag, text, [](const std::string& t) { return parse_count(t); });
  if (v < lo || v > hi)
    throw UsageError(fmt::format("{} {}: must be {}..{} {}", flag, text, lo, hi, what));
  return v;
}

// "0,1" or "0-3" or "0,2-3": CPU numbers below the machine's count.
std::vector<int> parse_cpus(const std::string& text) {
  std::vector<int> out;
  const unsigned ncpu = online_cpus();
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string item(rest.substr(0, comma));
    unsigned lo = 0, hi = 0;
    char tail = 0;
    int got = std::sscanf(item.c_str(), "%u-%u%c", &lo, &hi, &tail);
    if (got == 1) hi = lo;
    if ((got != 1 && got != 2) || lo > hi || hi >= ncpu) {
      throw UsageError(fmt::format("--cpus {}: \"{}\" is not a CPU or range of CPUs 0..{} "
                                   "(e.g. 0,1 or 0-1)",
                                   text, item, ncpu - 1));
    }
    for (unsigned c = lo; c <= hi; ++c)
      out.push_back(static_cast<int>(c));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (out.empty()) throw UsageError(fmt::format("--cpus {}: names no CPU", text));
  return out;
}

AddrRange parse_range(const char* flag, const std::string& text, bool benchmark_only) {
  const auto dash = text.find('-');
  in_addr a{}, b{};
  try {
    a = parse_ipv4(text.substr(0, dash));
    b = dash == std::string::npos ? a : parse_ipv4(text.substr(dash + 1));
  } catch (const UnitError&) {
    throw UsageError(
        fmt::format("{} {}: not an IPv4 range A-B (e.g. 198.18.0.2-198.18.0.9)", flag, text));
  }
  const std::uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
  if (lo > hi)
    throw UsageError(fmt::format("{} {}: the first address is above the last", flag, text));
  if (benchmark_only && (!in_benchmark_range(a) || !in_benchmark_range(b))) {
    throw UsageError(fmt::format("{} {}: droplab sends only to the benchmarking range "
                                 "198.18.0.0/15 (RFC 2544)",
                                 flag, text));
  }
  return AddrRange{.first = lo, .count = hi - lo + 1};
}

std::array<std::uint8_t, 6> parse_mac(const std::string& text) {
  std::array<unsigned, 6> v{};
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &tail) != 6) {
    throw UsageError(fmt::format("--dst-mac {}: not a MAC address (e.g. 02:00:5e:00:00:02)", text));
  }
  std::array<std::uint8_t, 6> m{};
  for (std::size_t i = 0; i < 6; ++i)
    m[i] = static_cast<std::uint8_t>(v[i]);
  return m;
}

// The flags added with the AF_PACKET / io_uring backends, threads and shapes.
void parse_extensions(const Flags& f, Config& c) {
  c.dev = f.dev;
  if (!f.dst_mac.empty()) c.dst_mac = parse_mac(f.dst_mac);
  c.qdisc_bypass = f.qdisc_bypass;
  c.zerocopy = f.zerocopy;
  c.threads =
      static_cast<std::uint32_t>(parse_ranged("--threads", f.threads, 1, kMaxThreads, "threads"));
  if (c.threads > c.flows) {
    throw UsageError(
        fmt::format("--threads {}: each thread needs its own flows, but --flows is {}; "
                    "give --flows {} or more",
                    c.threads, c.flows, c.threads));
  }
  if (!f.cpus.empty()) c.cpus = parse_cpus(f.cpus);
  if (!f.pattern.empty()) {
    c.shape =
        parse_flag("--pattern", f.pattern, [](const std::string& t) { return parse_pattern(t); });
  }
  if (!f.burst.empty()) {
    if (c.shape.kind != ShapeKind::Constant) {
      throw UsageError(
          fmt::format("--burst {}: cannot be combined with --pattern {}", f.burst, f.pattern));
    }
    c.shape.kind = ShapeKind::Burst;
    c.shape.burst =
        static_cast<std::uint32_t>(parse_ranged("--burst", f.burst, 1, 1'000'000, "packets"));
  }
  c.shape.seed = parse_ranged("--seed", f.seed, 0, UINT64_MAX, "");
  if (c.shape.kind != ShapeKind::Constant && c.rate.is_max()) {
    throw UsageError(fmt::format("--burst/--pattern {}: a shape needs a --rate (not max) to keep "
                                 "the average of",
                                 c.shape.to_string()));
  }
  if (!f.imix.empty()) {
    c.imix = parse_flag("--imix", f.imix, [](const std::string& t) {
      return Imix::parse(t, kMinWireSize, kMaxWireSize);
    });
    c.size = static_cast<std::size_t>(std::lround(c.imix.mean_size()));
  }
  if (!f.src_range.empty()) c.src_range = parse_range("--src-range", f.src_range, false);
  if (!f.fault.empty()) {
    if (f.fault != "udp-csum") {
      throw UsageError(fmt::format("--fault {}: unknown fault (allowed: udp-csum)", f.fault));
    }
    c.fault_udp_csum = true;
  }
  if (!f.dst_range.empty()) {
    c.dst_range = parse_range("--dst-range", f.dst_range, true);
    if (c.dst_range->at(0).s_addr != c.dst.addr.s_addr) {
      throw UsageError(fmt::format("--dst-range {}: must start at the --dst address {}",
                                   f.dst_range, ipv4_to_string(c.dst.addr)));
    }
  }
}

} // namespace

void add_flags(CLI::App& app, Flags& f) {
  app.description("droplab-gen: paced UDP traffic generator (af_packet, io_uring or sendmmsg), "
                  "flows spread over source ports; every payload carries the droplab header "
                  "(flow, per-flow sequence, send time).");
  app.footer(kFooter);
  app.add_option("--dst", f.dst, "Destination ADDR:PORT inside 198.18.0.0/15, e.g. 198.18.0.2:9000")
      ->required();
  app.add_option("--rate", f.rate,
                 "Send rate, e.g. 50kpps, 1Mpps, 100Mbit/s, max (default: max, as fast as the "
                 "backend can)");
  app.add_option("--duration", f.duration,
                 "How long to send, e.g. 3s, 500ms (default 10s "
                 "unless --count is given)");
  app.add_option("--count", f.count, "Stop after this many datagrams were accepted by the kernel");
  app.add_option("--size", f.size,
                 "Frame size on the wire in bytes, 64..9000; UDP payload = "
                 "size - 46")
      ->capture_default_str();
  app.add_option("--flows", f.flows, "Flows (source ports; one UDP socket each for sendmmsg and io_uring), 1..65535")
      ->capture_default_str();
  app.add_option("--flow-id-base", f.flow_id_base,
                 "Payload flow ids are B..B+flows-1 (several senders into one sink: give each its own range)")
      ->capture_default_str();
  app.add_option("--batch", f.batch, "Most datagrams sent per wake-up (one sendmmsg, ring kick or io_uring submit), 1..1024")
      ->capture_default_str();
  app.add_option("--src-port", f.src_port,
                 "Flow i uses source port P+i (default: an ephemeral port the kernel picks per "
                 "flow; af_packet: 49152+i)");
  app.add_option("--backend", f.backend, "Transmit backend: auto, af_packet, io_uring or sendmmsg")
      ->capture_default_str();
  app.add_option("--dev", f.dev, "Interface for af_packet (default: from the route to --dst)");
  app.add_option("--dst-mac", f.dst_mac,
                 "af_packet destination MAC (default: neighbour table, ARP if absent)");
  app.add_flag("--qdisc-bypass", f.qdisc_bypass, "af_packet: set PACKET_QDISC_BYPASS");
  app.add_flag("--zerocopy", f.zerocopy, "io_uring: send with SEND_ZC (Linux >= 6.0)");
  app.add_option("--threads", f.threads,
                 "Sending threads, 1..64; each owns its socket or ring and a disjoint set of flows")
      ->capture_default_str();
  app.add_option("--cpus", f.cpus, "Pin thread i to the i-th CPU of this list, e.g. 0,1 or 0-3");
  app.add_option("--burst", f.burst,
                 "Send N back to back, then the gap that keeps the average rate");
  app.add_option("--pattern", f.pattern,
                 "constant, poisson, or onoff:ON/OFF microbursts (e.g. onoff:1ms/9ms: the rate's "
                 "packets sent only in the ON windows)");
  app.add_option("--seed", f.seed, "Seed of --pattern poisson")->capture_default_str();
  app.add_option("--imix", f.imix,
                 "Weighted frame sizes SIZE:WEIGHT,..., e.g. 64:7,570:4,1518:1 (replaces --size)");
  app.add_option("--src-range", f.src_range,
                 "af_packet: source addresses A-B written into the frames, flow f uses A + f % n");
  app.add_option("--fault", f.fault,
                 "af_packet: write a deliberate fault into every frame: udp-csum (a wrong UDP checksum)");
  app.add_option("--dst-range", f.dst_range,
                 "Destination addresses A-B inside 198.18.0.0/15, flow f sends to A + f % n");
  app.add_option("--gso", f.gso,
                 "sendmmsg/io_uring: datagrams per UDP GSO buffer, 1..64 (1 = off) or auto")
      ->capture_default_str();
  app.add_option("--json", f.json, "Also write the report as JSON to this file");
  app.add_flag("--quiet", f.quiet, "No per-second lines, only the final summary");
}

in_addr AddrRange::at(std::uint32_t i) const {
  return in_addr{.s_addr = htonl(first + i % count)};
}

std::string AddrRange::to_string() const {
  return fmt::format("{}-{}", ipv4_to_string(at(0)), ipv4_to_string(at(count - 1)));
}

const char* backend_name(BackendKind k) {
  switch (k) {
  case BackendKind::Auto: return "auto";
  case BackendKind::AfPacket: return "af_packet";
  case BackendKind::IoUring: return "io_uring";
  case BackendKind::Sendmmsg: return "sendmmsg";
  }
  return "?";
}

std::uint64_t time_limit_ns(std::optional<std::uint64_t> duration_ns,
                            std::optional<std::uint64_t> count, double pps) {
  if (duration_ns) return *duration_ns;
  if (!count) return kDefaultDurationNs;
  if (pps <= 0) return kCountMaxRateLimitNs;
  long double ns = static_cast<long double>(*count) * 1e9L / pps + kCountSlackNs;
  if (ns > 1e18L) {
    throw UsageError(fmt::format("--count {}: at {} that takes longer than 31 years; "
                                 "give a higher --rate or a --duration",
                                 *count, format_pps(pps)));
  }
  return static_cast<std::uint64_t>(ns);
}

Config make_config(const Flags& f) {
  Config c;
  c.dst = parse_flag("--dst", f.dst, [](const std::string& t) { return parse_endpoint(t); });
  if (!in_benchmark_range(c.dst.addr)) {
    throw UsageError(fmt::format("--dst {}: droplab sends only to the benchmarking range "
                                 "198.18.0.0/15 (RFC 2544)",
                                 f.dst));
  }
  c.rate = f.rate.empty()
               ? Rate{}
               : parse_flag("--rate", f.rate, [](const std::string& t) { return parse_rate(t); });
  c.size = parse_ranged("--size", f.size, kMinWireSize, kMaxWireSize, "bytes on the wire");
  if (!f.duration.empty()) {
    c.duration_ns = parse_flag("--duration", f.duration,
                               [](const std::string& t) { return parse_duration_ns(t); });
    if (*c.duration_ns == 0)
      throw UsageError(fmt::format("--duration {}: must be greater than 0", f.duration));
  }
  if (!f.count.empty()) {
    c.count = parse_flag("--count", f.count, [](const std::string& t) { return parse_count(t); });
    if (*c.count == 0)
      throw UsageError(fmt::format("--count {}: must be at least 1 datagram", f.count));
  }
  c.flows = static_cast<std::uint32_t>(parse_ranged("--flows", f.flows, 1, kMaxFlows, "flows"));
  c.flow_id_base = static_cast<std::uint16_t>(parse_ranged(
      "--flow-id-base", f.flow_id_base, 0, kMaxFlows - c.flows,
      fmt::format("(so that flow ids B..B+{} fit in 16 bits)", c.flows - 1).c_str()));
  c.batch = static_cast<std::uint32_t>(parse_ranged("--batch", f.batch, 1, kMaxBatch, "datagrams"));
  if (!f.src_port.empty()) {
    std::uint64_t hi = 65536 - c.flows; // the last flow gets P + flows - 1 <= 65535
    c.src_port = static_cast<std::uint16_t>(parse_ranged(
        "--src-port", f.src_port, 1, hi,
        fmt::format("(so that all {} flows' ports P..P+{} fit below 65536)", c.flows, c.flows - 1)
            .c_str()));
  }
  if (f.backend == "auto") {
    c.backend = BackendKind::Auto;
  } else if (f.backend == "af_packet") {
    c.backend = BackendKind::AfPacket;
  } else if (f.backend == "io_uring") {
    c.backend = BackendKind::IoUring;
  } else if (f.backend == "sendmmsg") {
    c.backend = BackendKind::Sendmmsg;
  } else {
    throw UsageError(
        fmt::format("--backend {}: must be auto, af_packet, io_uring or sendmmsg", f.backend));
  }
  parse_extensions(f, c);
  c.gso = parse_gso(f.gso);
  c.time_limit_ns = time_limit_ns(c.duration_ns, c.count, c.requested_pps());
  c.json_path = f.json;
  c.quiet = f.quiet;
  return c;
}

} // namespace droplab::gen
