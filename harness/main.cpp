// droplab: runs drop experiments in the local lab and shows where packets died.
#include "counters_cmd.hpp"
#include "lab_cmd.hpp"
#include "run.hpp"

#include "droplab/cli.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

namespace {

// A `--interval` value, in ns, within [lo, hi]; a UsageError naming the flag otherwise.
std::uint64_t parse_interval(const std::string& text, std::uint64_t lo, std::uint64_t hi, const char* range) {
  std::uint64_t ns = 0;
  try {
    ns = droplab::parse_duration_ns(text);
  } catch (const droplab::UnitError& e) {
    throw droplab::UsageError(std::string("--interval ") + e.what());
  }
  if (ns < lo || ns > hi) throw droplab::UsageError("--interval " + text + ": must be " + range);
  return ns;
}

} // namespace

int main(int argc, char** argv) {
  using namespace droplab;
  CLI::App app{"droplab: send N, receive M, and show where each of the N-M died.\n"
               "Runs a profile in a local two-namespace lab, correlates kernel counters per\n"
               "stage of the receive path and prints the drop waterfall.",
               "droplab"};
  app.require_subcommand(1);

  harness::RunOptions run_opt;
  auto* run = app.add_subcommand("run", "Run one experiment: lab up, settings, sink, generator, waterfall, host restored");
  run->add_option("profile", run_opt.profile_path, "Profile JSON, e.g. profiles/socket-rcvbuf.json")->required();
  run->add_option("--json", run_opt.json_path, "Also write the report as JSON to FILE");
  run->add_flag("--quiet,-q", run_opt.quiet, "Do not stream the generator's and sink's per-second lines");
  run->add_flag("!--no-bpf", run_opt.allow_bpf,
                "Count drop reasons from the tracefs text buffer instead of a BPF program");
  run->add_flag("!--no-drop-reasons", run_opt.drop_reasons, "Do not count the kernel's drop reasons");
  std::string interval = "100ms";
  run->add_option("--interval", interval, "Counter sampling period for the drops-over-time view (10ms..10s)")
      ->capture_default_str();

  auto* lab = app.add_subcommand("lab", "The local lab on its own (two namespaces and a veth pair)");
  lab->require_subcommand(1);
  auto* up = lab->add_subcommand("up", "Create a lab and leave it up");
  bool recover = false;
  auto* down = lab->add_subcommand("down", "Remove labs made by `lab up`");
  down->add_flag("--recover", recover, "Also undo what killed runs left behind (namespaces, sysctls)");
  auto* status = lab->add_subcommand("status", "Show labs, journals and leftovers");

  harness::CountersOptions cnt_opt;
  std::string cnt_interval = "1s";
  auto* cnt = app.add_subcommand("counters", "Live view of the non-zero deltas of every counter, per stage "
                                             "(any host, no lab needed)");
  cnt->add_option("--netns", cnt_opt.netns, "Network namespace (a name under /run/netns); default: this one");
  cnt->add_option("--interval", cnt_interval, "Sampling period (10ms..1h)")->capture_default_str();
  cnt->add_option("--count", cnt_opt.count, "Stop after this many intervals (default: until Ctrl-C)");
  cnt->add_flag("--json-stream", cnt_opt.json_stream, "One JSON object per line per interval");

  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  return guarded_main("droplab", [&]() -> int {
    try {
      if (*run) {
        run_opt.interval_ns = parse_interval(interval, 10'000'000, 10'000'000'000ULL, "10ms..10s");
        return harness::run_experiment(run_opt);
      }
      if (*cnt) {
        cnt_opt.interval_ns = parse_interval(cnt_interval, 10'000'000, 3'600'000'000'000ULL, "10ms..1h");
        return harness::counters_command(cnt_opt);
      }
      if (*up) return harness::lab_up_command();
      if (*down) return harness::lab_down_command(recover);
      if (*status) return harness::lab_status_command();
    } catch (const harness::Interrupted& e) {
      fmt::print(stderr, "droplab: {}; the host was restored\n", e.what());
      return harness::kExitInterrupted;
    }
    return kExitUsage;
  });
}
