#include "gen/config.hpp"

#include "droplab/cli.hpp"
#include "droplab/payload.hpp"

#include <fmt/format.h>

#include <cmath>

namespace droplab::gen {
namespace {

constexpr const char *kFooter = R"(Units:
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
  droplab-gen --dst 198.18.0.2:9000 --rate 1Gbit/s --size 1500 --duration 5)";

// Runs a droplab unit parser, turning its error into one that names the flag.
template <typename F> auto parse_flag(const char *flag, const std::string &text, F &&parse) {
  try {
    return parse(text);
  } catch (const UnitError &e) {
    throw UsageError(fmt::format("{}: {}", flag, e.what()));
  }
}

std::uint64_t parse_ranged(const char *flag, const std::string &text, std::uint64_t lo,
                           std::uint64_t hi, const char *what) {
  std::uint64_t v = parse_flag(flag, text, [](const std::string &t) { return parse_count(t); });
  if (v < lo || v > hi)
    throw UsageError(fmt::format("{} {}: must be {}..{} {}", flag, text, lo, hi, what));
  return v;
}

} // namespace

void add_flags(CLI::App &app, Flags &f) {
  app.description("droplab-gen: paced UDP traffic generator (sendmmsg), one connected UDP "
                  "socket per flow; every payload carries the droplab header "
                  "(flow, per-flow sequence, send time).");
  app.footer(kFooter);
  app.add_option("--dst", f.dst, "Destination ADDR:PORT inside 198.18.0.0/15, e.g. 198.18.0.2:9000")
      ->required();
  app.add_option("--rate", f.rate, "Send rate, e.g. 50kpps, 1Mpps, 100Mbit/s, max")->required();
  app.add_option("--duration", f.duration,
                 "How long to send, e.g. 3s, 500ms (default 10s "
                 "unless --count is given)");
  app.add_option("--count", f.count, "Stop after this many datagrams were accepted by the kernel");
  app.add_option("--size", f.size,
                 "Frame size on the wire in bytes, 64..9000; UDP payload = "
                 "size - 46")
      ->capture_default_str();
  app.add_option("--flows", f.flows, "Flows (UDP sockets / source ports), 1..65535")
      ->capture_default_str();
  app.add_option("--batch", f.batch, "Most datagrams sent per wake-up (one sendmmsg), 1..1024")
      ->capture_default_str();
  app.add_option("--src-port", f.src_port,
                 "Bind flow i to source port P+i (default: the kernel "
                 "picks an ephemeral port per flow)");
  app.add_option("--backend", f.backend, "Transmit backend: auto or sendmmsg")
      ->capture_default_str();
  app.add_option("--json", f.json, "Also write the report as JSON to this file");
  app.add_flag("--quiet", f.quiet, "No per-second lines, only the final summary");
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

Config make_config(const Flags &f) {
  Config c;
  c.dst = parse_flag("--dst", f.dst, [](const std::string &t) { return parse_endpoint(t); });
  if (!in_benchmark_range(c.dst.addr)) {
    throw UsageError(fmt::format("--dst {}: droplab sends only to the benchmarking range "
                                 "198.18.0.0/15 (RFC 2544)",
                                 f.dst));
  }
  c.rate = parse_flag("--rate", f.rate, [](const std::string &t) { return parse_rate(t); });
  c.size = parse_ranged("--size", f.size, kMinWireSize, kMaxWireSize, "bytes on the wire");
  if (!f.duration.empty()) {
    c.duration_ns = parse_flag("--duration", f.duration,
                               [](const std::string &t) { return parse_duration_ns(t); });
    if (*c.duration_ns == 0)
      throw UsageError(fmt::format("--duration {}: must be greater than 0", f.duration));
  }
  if (!f.count.empty()) {
    c.count = parse_flag("--count", f.count, [](const std::string &t) { return parse_count(t); });
    if (*c.count == 0)
      throw UsageError(fmt::format("--count {}: must be at least 1 datagram", f.count));
  }
  c.flows = static_cast<std::uint32_t>(parse_ranged("--flows", f.flows, 1, kMaxFlows, "flows"));
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
  } else if (f.backend == "sendmmsg") {
    c.backend = BackendKind::Sendmmsg;
  } else {
    throw UsageError(fmt::format("--backend {}: must be auto or sendmmsg "
                                 "(AF_PACKET and io_uring backends are not built yet)",
                                 f.backend));
  }
  c.time_limit_ns = time_limit_ns(c.duration_ns, c.count, c.requested_pps());
  c.json_path = f.json;
  c.quiet = f.quiet;
  return c;
}

} // namespace droplab::gen
