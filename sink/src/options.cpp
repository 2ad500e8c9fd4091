#include "droplab/sink/options.hpp"

#include "droplab/cli.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

#include <climits>

namespace droplab::sink {
namespace {

// SO_RCVBUF takes an int and the kernel doubles it; INT_MAX / 2 is the most
// that survives the doubling without overflow.
constexpr std::uint64_t kMaxRcvbuf = INT_MAX / 2;

[[noreturn]] void usage(std::string_view flag, std::string_view value, std::string_view why) {
  throw UsageError(fmt::format("{} {}: {}", flag, value, why));
}

// Runs a droplab unit parser, turning its UnitError into a UsageError that
// names the flag.
template <typename F> auto parse_flag(std::string_view flag, std::string_view value, F &&parse) {
  try {
    return parse();
  } catch (const UnitError &e) {
    usage(flag, value, e.what());
  }
}

} // namespace

void add_options(CLI::App &app, Options &o) {
  app.description("droplab-sink: a UDP receiver constrained like a real application "
                  "(small buffer, slow reader, pauses), counting per-flow loss, "
                  "duplicates and reordering from droplab payload headers.\n"
                  "Example: droplab-sink --listen 198.18.0.1:9000 --rcvbuf 64KiB "
                  "--read-rate 50kpps --stall 200ms/1s --json sink.json");
  app.add_option("--listen", o.listen, "ADDR:PORT to bind, e.g. 198.18.0.1:9000")->required();
  app.add_option("--rcvbuf", o.rcvbuf,
                 "SO_RCVBUF request in bytes, binary prefixes (4096, 64KiB, 1M). The kernel "
                 "doubles it, capped by net.core.rmem_max; the granted size is reported. "
                 "Default: net.core.rmem_default");
  app.add_option("--read-rate", o.read_rate,
                 "read at most this many datagrams/s, SI prefixes (500pps, 50kpps, 1Mpps; "
                 "\"max\"). Idle time is not banked. Default: max");
  app.add_option("--stall", o.stall,
                 "DUR/EVERY: stop reading for DUR out of every EVERY, e.g. 200ms/1s "
                 "(reads for EVERY-DUR, then stalls DUR). Default: none");
  app.add_option(
      "--batch", o.batch,
      fmt::format("datagrams per recvmmsg call, 1..{} (default {})", kMaxBatch, kDefaultBatch));
  app.add_option("--duration", o.duration,
                 "stop after this long (2s, 500ms, 1m); default: until SIGINT/SIGTERM");
  app.add_option("--backend", o.backend, "receive backend: recvmmsg|auto (default auto)");
  app.add_option("--ready-file", o.ready_file,
                 "write {pid, listen, rcvbuf_granted, socket_inode} here (atomically) once the "
                 "socket is bound and configured");
  app.add_option("--json", o.json_file, "write the JSON report to this file at the end");
  app.add_flag("--quiet", o.quiet, "no per-second lines on stdout");
}

Stall parse_stall(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    usage("--stall", text, "expected DUR/EVERY, e.g. 200ms/1s");
  }
  Stall s;
  s.dur_ns = parse_flag("--stall", text, [&] { return parse_duration_ns(text.substr(0, slash)); });
  s.every_ns =
      parse_flag("--stall", text, [&] { return parse_duration_ns(text.substr(slash + 1)); });
  if (s.dur_ns == 0) usage("--stall", text, "DUR must be greater than 0");
  if (s.dur_ns >= s.every_ns) usage("--stall", text, "DUR must be shorter than EVERY");
  return s;
}

Config to_config(const Options &o) {
  Config c;
  c.listen = parse_flag("--listen", o.listen, [&] { return parse_endpoint(o.listen); });

  if (!o.rcvbuf.empty()) {
    std::uint64_t b = parse_flag("--rcvbuf", o.rcvbuf, [&] { return parse_size(o.rcvbuf); });
    if (b < 1 || b > kMaxRcvbuf) {
      usage("--rcvbuf", o.rcvbuf,
            fmt::format("must be 1 B..{} (SO_RCVBUF is an int the kernel doubles)",
                        format_bytes(kMaxRcvbuf)));
    }
    c.rcvbuf = b;
  }

  if (!o.read_rate.empty()) {
    Rate r = parse_flag("--read-rate", o.read_rate, [&] { return parse_rate(o.read_rate); });
    // A reader's speed is in datagrams, not bits: bit/s would need a datagram size.
    if (r.kind == Rate::Kind::BitsPerSecond) {
      usage("--read-rate", o.read_rate, "give a datagram rate (pps, kpps, Mpps) or \"max\"");
    }
    if (!r.is_max()) c.read_rate_pps = r.value;
  }

  if (!o.stall.empty()) c.stall = parse_stall(o.stall);

  if (!o.batch.empty()) {
    std::uint64_t n = parse_flag("--batch", o.batch, [&] { return parse_count(o.batch); });
    if (n < 1 || n > kMaxBatch) usage("--batch", o.batch, fmt::format("must be 1..{}", kMaxBatch));
    c.batch = static_cast<unsigned>(n);
  }

  if (!o.duration.empty()) {
    std::uint64_t d =
        parse_flag("--duration", o.duration, [&] { return parse_duration_ns(o.duration); });
    if (d == 0)
      usage("--duration", o.duration, "must be greater than 0 (omit it to run until a signal)");
    c.duration_ns = d;
  }

  if (o.backend == "auto") {
    c.backend = BackendChoice::Auto;
  } else if (o.backend == "recvmmsg") {
    c.backend = BackendChoice::Recvmmsg;
  } else {
    usage("--backend", o.backend, "must be one of: recvmmsg, auto");
  }

  c.ready_file = o.ready_file;
  c.json_file = o.json_file;
  c.quiet = o.quiet;
  return c;
}

} // namespace droplab::sink
