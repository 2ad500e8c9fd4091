#include "gen_pace.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <vector>

using nlohmann::json;

namespace droplab::harness {
namespace {

// A loop running or runnable for this share of its wall time had no idle
// time left to wait for its schedule: it was CPU-bound.
constexpr double kCpuBound = 0.9;
// Waiting this share of the loop for a CPU, or being refused this long, is
// enough on its own to cost the missing rate.
constexpr double kSignificant = 0.05;
// Inside send calls for at least this share of the loop: the send path is
// where the time went.
constexpr double kMostly = 0.5;

std::string ms(double s) {
  return fmt::format("{} ms", format_count(static_cast<std::uint64_t>(s * 1000 + 0.5)));
}

} // namespace

std::optional<GenPace> gen_pace_from_report(const json& gen) {
  const json& s = gen.at("summary");
  if (!s.contains("pace")) return std::nullopt;
  const json& p = s.at("pace");
  GenPace g;
  if (!s.at("requested_pps").is_null()) g.requested_pps = s.at("requested_pps").get<double>();
  g.achieved_pps = s.at("achieved_pps").get<double>();
  for (const auto& [name, n] : s.at("send_errors").items()) {
    const auto count = n.get<std::uint64_t>();
    if (name == "EAGAIN") {
      g.eagain = count;
    } else if (name == "ENOBUFS") {
      g.enobufs = count;
    } else {
      g.other_errors += count;
    }
  }
  if (gen.contains("context")) g.threads = gen.at("context").value("threads", 1U);
  g.loop_s = p.at("loop_s").get<double>();
  g.cpu_s = p.at("cpu_s").get<double>();
  g.in_send_s = p.at("in_send_s").get<double>();
  g.send_blocked_s = p.at("send_blocked_s").get<double>();
  if (!p.at("cpu_wait_s").is_null()) g.cpu_wait_s = p.at("cpu_wait_s").get<double>();
  return g;
}

std::optional<std::string> gen_shortfall_note(const GenPace& p) {
  if (p.requested_pps <= 0 || p.achieved_pps >= kGenShortFraction * p.requested_pps)
    return std::nullopt;
  const double loop = p.loop_s > 0 ? p.loop_s : 1e-9;
  std::vector<std::string> causes;
  if (p.eagain > 0) {
    causes.push_back(fmt::format(
        "its socket's send buffer was full for {} of {} (sends refused EAGAIN {} "
        "times): packets queued below the socket (a qdisc, a device) are charged to its "
        "send buffer until they leave",
        ms(p.send_blocked_s), ms(p.loop_s), format_count(p.eagain)));
  }
  if (p.enobufs > 0) {
    causes.push_back(fmt::format("{} sends refused ENOBUFS (no buffer below the socket)",
                                 format_count(p.enobufs)));
  }
  if (p.other_errors > 0)
    causes.push_back(
        fmt::format("{} sends refused with other errors", format_count(p.other_errors)));
  // Running or runnable for nearly all of the loop: it never slept until its
  // next packet was due, so it needed more CPU than it got (the kernel's send
  // path included: on veth that runs the receiver's path for every packet).
  const double busy = p.cpu_s + p.cpu_wait_s.value_or(0);
  if (busy / loop >= kCpuBound) {
    std::string c =
        p.cpu_wait_s ? fmt::format("it never idled: it ran {} and waited {} for a CPU in {}",
                                   ms(p.cpu_s), ms(*p.cpu_wait_s), ms(p.loop_s))
                     : fmt::format("it was CPU-bound: {} of CPU in {}", ms(p.cpu_s), ms(p.loop_s));
    if (p.in_send_s / loop >= kMostly) {
      c += fmt::format(
          ", {} of the loop inside send calls (the kernel's send path; on veth it also runs the "
          "receiver's path for every packet that leaves)",
          ms(p.in_send_s));
    }
    causes.push_back(c);
  } else if (p.cpu_wait_s && *p.cpu_wait_s / loop >= kSignificant) {
    causes.push_back(
        fmt::format("it waited {} of {} for a CPU (runnable, not running: the CPUs were busy)",
                    ms(*p.cpu_wait_s), ms(p.loop_s)));
  }
  const std::string figures = fmt::format(
      "send loop {}{}: CPU {}, inside send calls {}, send buffer full {}, waiting for a CPU {}",
      ms(p.loop_s), p.threads > 1 ? fmt::format(" (summed over {} threads)", p.threads) : "",
      ms(p.cpu_s), ms(p.in_send_s), ms(p.send_blocked_s),
      p.cpu_wait_s ? ms(*p.cpu_wait_s) : "unavailable");
  std::string note =
      fmt::format("{}{} of {} requested ({:+.1f}%) — ", kGenShortNote, format_pps(p.achieved_pps),
                  format_pps(p.requested_pps), (p.achieved_pps / p.requested_pps - 1) * 100);
  if (causes.empty()) {
    note +=
        "no send was refused and the loop was neither CPU-bound nor kept from a CPU; " + figures;
  } else {
    for (std::size_t i = 0; i < causes.size(); ++i)
      note += (i ? "; " : "") + causes[i];
    note += " (" + figures + ")";
  }
  return note;
}

} // namespace droplab::harness
