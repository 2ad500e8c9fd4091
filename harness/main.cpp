// droplab: runs drop experiments in the local lab and shows where packets died.
#include "agent_host.hpp"
#include "counters_cmd.hpp"
#include "doctor_cmd.hpp"
#include "journal.hpp"
#include "lab_cmd.hpp"
#include "run.hpp"
#include "series.hpp"

#include "agent_main.hpp"

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

// How the controller reaches the agents of a profile with "hosts".
void add_agent_client_flags(CLI::App* sub, droplab::harness::RunOptions& o) {
  sub->add_option("--ssh-config", o.ssh_config, "Profiles with hosts: ssh -F FILE for ssh:// agents");
  sub->add_option("--tls-cert", o.tls_cert, "Profiles with hosts: this controller's certificate for tls:// agents");
  sub->add_option("--tls-key", o.tls_key, "Profiles with hosts: its private key");
  sub->add_option("--tls-ca", o.tls_ca, "Profiles with hosts: the CA that signed the agents' certificates");
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
  run->add_option("--html", run_opt.html_path, "Also write the report as one self-contained HTML page to FILE");
  run->add_flag("--quiet,-q", run_opt.quiet, "Do not stream the generator's and sink's per-second lines");
  run->add_flag("!--no-bpf", run_opt.allow_bpf,
                "Count drop reasons from the tracefs text buffer instead of a BPF program");
  run->add_flag("!--no-drop-reasons", run_opt.drop_reasons, "Do not count the kernel's drop reasons");
  std::string interval = "100ms";
  run->add_option("--interval", interval, "Counter sampling period for the drops-over-time view (10ms..10s)")
      ->capture_default_str();

  // Options every series of runs shares with `run`.
  auto add_run_flags = [](CLI::App* sub, harness::RunOptions& o, std::string& json_path, std::string& html_path) {
    sub->add_option("--json", json_path, "Write the result as JSON to FILE");
    sub->add_option("--html", html_path, "Write the result as one self-contained HTML page to FILE");
    sub->add_flag("!--no-bpf", o.allow_bpf, "Count drop reasons from the tracefs text buffer instead of BPF");
    sub->add_flag("!--no-drop-reasons", o.drop_reasons, "Do not count the kernel's drop reasons");
    add_agent_client_flags(sub, o);
  };

  harness::CompareOptions cmp_opt;
  auto* cmp = app.add_subcommand(
      "compare", "A/B: interleaved runs of a profile under two settings; loss per stage with 95% confidence "
                 "intervals, a verdict with its test and p-value, and the CPU and latency cost. Exits 3 when "
                 "the candidate regressed");
  cmp->add_option("profile", cmp_opt.profile_path, "Profile JSON")->required();
  cmp->add_option("--baseline", cmp_opt.baseline,
                  "SETTINGS of the baseline: KEY=VALUE (e.g. sink.rcvbuf=64KiB), an inline JSON object or a JSON "
                  "file merged into the profile; repeatable. Default: the profile as is");
  cmp->add_option("--candidate", cmp_opt.candidate, "SETTINGS of the candidate, as --baseline; repeatable")
      ->required();
  cmp->add_option("--repeat", cmp_opt.repeat, "Runs of each arm (2..1000)")->capture_default_str();
  cmp->add_option("--alpha", cmp_opt.alpha, "Significance level of the verdict")->capture_default_str();
  add_run_flags(cmp, cmp_opt.run, cmp_opt.json_path, cmp_opt.html_path);

  harness::SweepOptions swp_opt;
  auto* swp = app.add_subcommand(
      "sweep", "Run a profile over a grid of values and show loss per stage per point, or search for the "
               "highest rate with no loss (RFC 2544 throughput)");
  swp->add_option("profile", swp_opt.profile_path, "Profile JSON")->required();
  swp->add_option("--vary", swp_opt.vary,
                  "KEY=V1,V2,... (or KEY=[JSON array]); repeat for a grid, the first outermost");
  swp->add_flag("--throughput", swp_opt.throughput,
                "Binary search on gen.rate for the highest rate whose loss is within --loss-tolerance");
  swp->add_option("--min", swp_opt.min_rate, "Throughput search: lowest rate (default: the resolution)");
  swp->add_option("--max", swp_opt.max_rate, "Throughput search: highest rate (default: the profile's gen.rate)");
  swp->add_option("--resolution", swp_opt.resolution,
                  "Throughput search: stop when the bracket is this narrow (default: 1% of --max)");
  swp->add_option("--loss-tolerance", swp_opt.loss_tolerance,
                  "Fraction of sent packets that may be lost ((sent - delivered)/sent) at a passing point and on "
                "the knee's good side (default 0: RFC 2544 zero loss)");
  add_run_flags(swp, swp_opt.run, swp_opt.json_path, swp_opt.html_path);

  add_agent_client_flags(run, run_opt);

  agent::AgentMainOptions agent_opt;
  auto* agent_cmd = app.add_subcommand(
      "agent", "Serve a droplab controller on this host: start and stop the sink or generator, read counters, "
               "apply and restore allow-listed settings (over --stdio for ssh://, or --listen with mutual TLS)");
  agent::add_agent_flags(*agent_cmd, agent_opt);

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

  harness::DoctorOptions doc_opt;
  auto* doc = app.add_subcommand("doctor", "What this host's kernel offers droplab, probed for real (BPF, drop "
                                           "reasons, RPS, flow limit, nftables, qdiscs, XDP, AF_PACKET, io_uring, "
                                           "sysctls), and which shipped profiles can run here. Changes nothing; "
                                           "exits 0 even when features are missing");
  doc->add_flag("--json", doc_opt.json, "Print the report as JSON on stdout (for scripts)");

  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  return guarded_main("droplab", [&]() -> int {
    try {
      if (*run) {
        run_opt.interval_ns = parse_interval(interval, 10'000'000, 10'000'000'000ULL, "10ms..10s");
        return harness::run_experiment(run_opt);
      }
      if (*agent_cmd) {
        // stdout may be the protocol channel: everything else goes to stderr.
        for (const auto& line : harness::recover_journals(false)) {
          fmt::print(stderr, "droplab agent: recovered what an earlier run left: {}\n", line);
        }
        harness::AgentHost host;
        agent_opt.make_ops = [&host] {
          agent::OpTable t;
          for (auto& [name, op] : host.ops()) t.emplace(name, op);
          return t;
        };
        agent_opt.restore = [&host](const std::string& reason) {
          try {
            auto lines = host.restore();
            fmt::print(stderr, "droplab agent: session ended ({}); {} change(s) undone\n", reason, lines.size());
          } catch (const std::exception& e) {
            fmt::print(stderr, "droplab agent: session ended ({}); restore failed: {}\n", reason, e.what());
          }
        };
        return agent::agent_main(agent_opt);
      }
      if (*doc) return harness::doctor_command(doc_opt);
      if (*cmp) return harness::compare_command(cmp_opt);
      if (*swp) return harness::sweep_command(swp_opt);
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
