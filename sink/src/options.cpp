#include "droplab/sink/options.hpp"

#include "droplab/cli.hpp"
#include "droplab/json_util.hpp"
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
template <typename F> auto parse_flag(std::string_view flag, std::string_view value, F&& parse) {
  try {
    return parse();
  } catch (const UnitError& e) {
    usage(flag, value, e.what());
  }
}

} // namespace

void add_options(CLI::App& app, Options& o) {
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
  app.add_option("--rcvbuf-force", o.rcvbuf_force,
                 "like --rcvbuf but with SO_RCVBUFFORCE (needs CAP_NET_ADMIN): not capped by "
                 "net.core.rmem_max, binary prefixes (8M). Excludes --rcvbuf. Default: none");
  app.add_option("--read-rate", o.read_rate,
                 "read at most this many datagrams/s, SI prefixes (500pps, 50kpps, 1Mpps; "
                 "\"max\"). Idle time is not banked. Default: max");
  app.add_option("--stall", o.stall,
                 "DUR/EVERY: stop reading for DUR out of every EVERY, e.g. 200ms/1s "
                 "(reads for EVERY-DUR, then stalls DUR). Default: none");
  app.add_option(
      "--batch", o.batch,
      fmt::format("datagrams read per call (recvmmsg vlen; the recv loop's and the io_uring "
                  "ring's batch), 1..{} (default {})",
                  kMaxBatch, kDefaultBatch));
  app.add_option("--work", o.work,
                 fmt::format("CPU time burnt (busy loop) per datagram read, like an "
                             "application's processing: 500ns, 20us; a bare number is ns; "
                             "0..{} ns (default 0)",
                             kMaxWorkNs));
  app.add_option("--hang-after", o.hang_after,
                 "stop reading for good this long after the start (2s, 500ms): everything "
                 "later stays queued in or is dropped by the socket; no drain at stop. "
                 "Default: never");
  app.add_option("--threads", o.threads,
                 fmt::format("reader threads, each with its own SO_REUSEPORT socket, 1..{} "
                             "(default 1). --read-rate, --stall, --work apply to each reader",
                             kMaxThreads));
  app.add_option("--cpus", o.cpus,
                 "pin reader i to the i-th CPU of this list (wrapping), e.g. 0 or 0,1 or 0-1; "
                 "CPUs 0..online-1. Default: not pinned");
  app.add_option("--duration", o.duration,
                 "stop after this long (2s, 500ms, 1m); default: until SIGINT/SIGTERM");
  app.add_option("--backend", o.backend,
                 "receive backend: recvmmsg|recv|asio|io_uring|auto (default auto = recvmmsg)");
  app.add_option("--ready-file", o.ready_file,
                 "write {pid, listen, rcvbuf_granted, socket_inode, socket_inodes, backend, "
                 "threads} here (atomically) once every socket is bound and configured");
  app.add_flag("--gro", o.gro,
               "set UDP_GRO on the socket (Linux >= 5.0): the kernel may coalesce a flow's "
               "datagrams into one read, which the sink splits again per datagram (recvmmsg, "
               "recv, auto). Default: off");
  app.add_option("--json", o.json_file, "write the JSON report to this file at the end");
  app.add_flag("--quiet", o.quiet, "no per-second lines on stdout");
  app.add_flag("--json-stream", o.json_stream,
               "stdout carries one JSON object per line: {\"event\":\"start\"|\"interval\"|"
               "\"end\", ...} instead of human lines");
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

std::vector<unsigned> parse_cpu_list(std::string_view text, unsigned online) {
  const std::string range = fmt::format("CPUs 0..{}, e.g. 0 or 0,1 or 0-1", online - 1);
  std::vector<unsigned> out;
  auto number = [&](std::string_view part) -> unsigned {
    std::uint64_t v = 0;
    try {
      v = parse_count(part);
    } catch (const UnitError&) {
      usage("--cpus", text, "not a CPU list (" + range + ")");
    }
    if (v >= online) usage("--cpus", text, fmt::format("CPU {} is not online ({})", v, range));
    return static_cast<unsigned>(v);
  };
  std::string_view rest = text;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    std::size_t dash = item.find('-');
    unsigned lo = number(item.substr(0, dash));
    unsigned hi = dash == std::string_view::npos ? lo : number(item.substr(dash + 1));
    if (hi < lo) usage("--cpus", text, "a range must go up (" + range + ")");
    for (unsigned c = lo; c <= hi; ++c)
      out.push_back(c);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::uint64_t parse_work_ns(std::string_view text) {
  const bool bare = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  std::uint64_t ns = bare ? parse_flag("--work", text, [&] { return parse_count(text); })
                          : parse_flag("--work", text, [&] { return parse_duration_ns(text); });
  if (ns > kMaxWorkNs) {
    usage("--work", text, fmt::format("must be 0..{} ns (0..10ms)", kMaxWorkNs));
  }
  return ns;
}

Config to_config(const Options& o) {
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
  if (!o.rcvbuf_force.empty()) {
    if (!o.rcvbuf.empty()) {
      usage("--rcvbuf-force", o.rcvbuf_force, "give either --rcvbuf or --rcvbuf-force, not both");
    }
    std::uint64_t b =
        parse_flag("--rcvbuf-force", o.rcvbuf_force, [&] { return parse_size(o.rcvbuf_force); });
    if (b < 1 || b > kMaxRcvbuf) {
      usage("--rcvbuf-force", o.rcvbuf_force,
            fmt::format("must be 1 B..{} (SO_RCVBUFFORCE is an int the kernel doubles)",
                        format_bytes(kMaxRcvbuf)));
    }
    c.rcvbuf = b;
    c.rcvbuf_force = true;
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

  if (!o.work.empty()) c.work_ns = parse_work_ns(o.work);

  if (!o.hang_after.empty()) {
    std::uint64_t d =
        parse_flag("--hang-after", o.hang_after, [&] { return parse_duration_ns(o.hang_after); });
    if (d == 0) usage("--hang-after", o.hang_after, "must be greater than 0 (e.g. 2s, 500ms)");
    c.hang_after_ns = d;
  }

  if (!o.threads.empty()) {
    std::uint64_t n = parse_flag("--threads", o.threads, [&] { return parse_count(o.threads); });
    if (n < 1 || n > kMaxThreads) {
      usage("--threads", o.threads, fmt::format("must be 1..{}", kMaxThreads));
    }
    c.threads = static_cast<unsigned>(n);
  }

  if (!o.cpus.empty()) c.cpus = parse_cpu_list(o.cpus, online_cpus());

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
  } else if (o.backend == "recv") {
    c.backend = BackendChoice::Recv;
  } else if (o.backend == "asio") {
    c.backend = BackendChoice::Asio;
  } else if (o.backend == "io_uring") {
    c.backend = BackendChoice::IoUring;
  } else {
    usage("--backend", o.backend, "must be one of: recvmmsg, recv, asio, io_uring, auto");
  }

  c.gro = o.gro;
  if (c.gro && (c.backend == BackendChoice::Asio || c.backend == BackendChoice::IoUring)) {
    // asio's receive_from drops control messages (no UDP_GRO segment size);
    // io_uring's 2 KiB ring buffers cannot hold a coalesced read.
    usage("--gro", "--backend " + o.backend,
          "UDP GRO needs --backend recvmmsg, recv or auto (asio cannot see the segment size, "
          "io_uring's ring buffers are too small for a coalesced read)");
  }
  c.ready_file = o.ready_file;
  c.json_file = o.json_file;
  c.quiet = o.quiet;
  c.json_stream = o.json_stream;
  return c;
}

} // namespace droplab::sink
