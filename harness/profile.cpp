#include "profile.hpp"

#include "overrides.hpp"

#include "droplab/addr.hpp"
#include "droplab/json_util.hpp"
#include "droplab/payload.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <filesystem>
#include <set>
#include <system_error>

using nlohmann::json;

namespace droplab::harness {
namespace {

// Walks one JSON document, reporting errors as "<file>: <json pointer>: <what>".
class Reader {
public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& ptr, const std::string& msg) const {
    throw ProfileError(fmt::format("{}: {}: {}", file_, ptr.empty() ? "/" : ptr, msg));
  }

  void object(const json& j, const std::string& ptr, const std::vector<std::string>& allowed) const {
    if (!j.is_object()) fail(ptr, fmt::format("expected an object, got {}", j.dump()));
    for (const auto& [k, v] : j.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        fail(ptr + "/" + k, fmt::format("unknown key (allowed: {})", fmt::join(allowed, ", ")));
      }
    }
  }

  std::string string(const json& j, const std::string& ptr) const {
    if (!j.is_string()) fail(ptr, fmt::format("expected a string, got {}", j.dump()));
    return j.get<std::string>();
  }

  // A string, or a number written as its decimal text (for rates and sizes).
  std::string text(const json& j, const std::string& ptr) const {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_number_integer() || j.is_number_unsigned()) return j.dump();
    if (j.is_number_float()) return j.dump();
    fail(ptr, fmt::format("expected a string or a number, got {}", j.dump()));
  }

  std::uint64_t integer(const json& j, const std::string& ptr, std::uint64_t lo, std::uint64_t hi) const {
    if (!j.is_number_integer() && !j.is_number_unsigned()) {
      fail(ptr, fmt::format("expected an integer {}..{}, got {}", lo, hi, j.dump()));
    }
    if (j.is_number_integer() && j.get<std::int64_t>() < 0) {
      fail(ptr, fmt::format("{} is out of range {}..{}", j.dump(), lo, hi));
    }
    auto v = j.get<std::uint64_t>();
    if (v < lo || v > hi) fail(ptr, fmt::format("{} is out of range {}..{}", v, lo, hi));
    return v;
  }

  double number(const json& j, const std::string& ptr, double lo, double hi) const {
    if (!j.is_number()) fail(ptr, fmt::format("expected a number {}..{}, got {}", lo, hi, j.dump()));
    double v = j.get<double>();
    if (v < lo || v > hi) fail(ptr, fmt::format("{} is out of range {}..{}", v, lo, hi));
    return v;
  }

  bool boolean(const json& j, const std::string& ptr) const {
    if (!j.is_boolean()) fail(ptr, fmt::format("expected true or false, got {}", j.dump()));
    return j.get<bool>();
  }

  // Runs a units parser; its UnitError becomes a ProfileError at `ptr`.
  template <typename F> auto unit(const std::string& ptr, F&& parse) const {
    try {
      return parse();
    } catch (const UnitError& e) {
      fail(ptr, e.what());
    }
  }

private:
  std::string file_;
};

void check_sysctl_key(const Reader& r, const std::string& key, const std::string& ptr) {
  bool ok = key.rfind("net.", 0) == 0 && key.find("..") == std::string::npos && key.back() != '.' &&
            std::all_of(key.begin(), key.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                     c == '-';
            });
  if (!ok) r.fail(ptr, "not a network sysctl (allowed: keys under net., e.g. net.core.rmem_max)");
}

std::map<std::string, std::string> sysctl_map(const Reader& r, const json& j, const std::string& ptr) {
  if (!j.is_object()) r.fail(ptr, fmt::format("expected an object of sysctl: value, got {}", j.dump()));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) {
    std::string p = ptr + "/" + k;
    check_sysctl_key(r, k, p);
    std::string value = r.text(v, p);
    if (value.empty()) r.fail(p, "empty value");
    out[k] = value;
  }
  return out;
}

unsigned cpu_index(const Reader& r, const json& j, const std::string& ptr) {
  unsigned n = online_cpus();
  if (n == 0) r.fail(ptr, "cannot count this machine's CPUs");
  return static_cast<unsigned>(r.integer(j, ptr, 0, n - 1));
}

GenSpec parse_gen(const Reader& r, const json& j) {
  const std::string p = "/gen";
  r.object(j, p, {"rate", "duration", "count", "size", "flows", "batch", "cpu", "port", "backend", "src_range",
                  "fault", "burst"});
  GenSpec g;
  if (j.contains("burst")) g.burst = static_cast<std::uint32_t>(r.integer(j["burst"], p + "/burst", 1, 65536));
  if (j.contains("backend")) {
    g.backend = r.string(j["backend"], p + "/backend");
    static const std::vector<std::string> allowed{"sendmmsg", "af_packet", "io_uring", "auto"};
    if (std::find(allowed.begin(), allowed.end(), g.backend) == allowed.end()) {
      r.fail(p + "/backend", fmt::format("\"{}\" is not a backend (allowed: {})", g.backend, fmt::join(allowed, ", ")));
    }
  }
  if (j.contains("src_range")) {
    g.src_range = r.string(j["src_range"], p + "/src_range");
    static const std::regex range(R"(^\d+\.\d+\.\d+\.\d+(-\d+\.\d+\.\d+\.\d+)?$)");
    if (!std::regex_match(*g.src_range, range)) {
      r.fail(p + "/src_range", fmt::format("\"{}\" is not ADDR or ADDR-ADDR", *g.src_range));
    }
    if (g.backend != "af_packet") r.fail(p + "/src_range", "needs \"backend\": \"af_packet\" (sockets cannot spoof)");
    auto dash = g.src_range->find('-');
    for (const std::string& a : {g.src_range->substr(0, dash),
                                 dash == std::string::npos ? g.src_range->substr(0) : g.src_range->substr(dash + 1)}) {
      in_addr addr = r.unit(p + "/src_range", [&] { return parse_ipv4(a); });
      if (!in_benchmark_range(addr)) {
        r.fail(p + "/src_range", fmt::format("\"{}\": spoofed sources stay in 198.18.0.0/15 too", *g.src_range));
      }
    }
  }
  if (j.contains("fault")) {
    g.fault = r.string(j["fault"], p + "/fault");
    if (*g.fault != "udp-csum") r.fail(p + "/fault", fmt::format("\"{}\" is not a fault (allowed: udp-csum)", *g.fault));
    if (g.backend != "af_packet") r.fail(p + "/fault", "needs \"backend\": \"af_packet\" (the kernel writes a socket's checksums)");
  }
  if (j.contains("cpu")) g.cpu = cpu_index(r, j["cpu"], p + "/cpu");
  if (j.contains("port")) g.port = static_cast<std::uint16_t>(r.integer(j["port"], p + "/port", 1, 65535));
  if (j.contains("rate")) {
    g.rate = r.text(j["rate"], p + "/rate");
    r.unit(p + "/rate", [&] { return parse_rate(g.rate); });
  }
  if (j.contains("duration")) {
    g.duration = r.text(j["duration"], p + "/duration");
    auto ns = r.unit(p + "/duration", [&] { return parse_duration_ns(*g.duration); });
    if (ns < 1'000'000ULL || ns > 3'600'000'000'000ULL) {
      r.fail(p + "/duration", fmt::format("\"{}\" is out of range 1ms..1h", *g.duration));
    }
  }
  if (j.contains("count")) g.count = r.integer(j["count"], p + "/count", 1, 1'000'000'000'000ULL);
  if (!g.duration && !g.count) g.duration = "2s";
  if (j.contains("size")) {
    g.size = static_cast<std::uint32_t>(r.integer(j["size"], p + "/size", kMinWireSize, kMaxWireSize));
  }
  if (j.contains("flows")) g.flows = static_cast<std::uint32_t>(r.integer(j["flows"], p + "/flows", 1, 65535));
  if (j.contains("batch")) g.batch = static_cast<std::uint32_t>(r.integer(j["batch"], p + "/batch", 1, 1024));
  return g;
}

SinkSpec parse_sink(const Reader& r, const json& j) {
  const std::string p = "/sink";
  r.object(j, p, {"port", "rcvbuf", "read_rate", "stall", "batch", "cpu", "backend", "threads", "cpus",
                  "rcvbuf_force", "work", "hang_after", "gro"});
  SinkSpec s;
  if (j.contains("gro")) {
    s.gro = r.boolean(j["gro"], p + "/gro");
    // droplab-sink --gro works with recvmmsg and recv (auto = recvmmsg).
    if (s.gro && j.contains("backend") && j["backend"].is_string() &&
        (j["backend"] == "asio" || j["backend"] == "io_uring")) {
      r.fail(p + "/gro", fmt::format("true needs backend recvmmsg, recv or auto, not {}", j["backend"].dump()));
    }
  }
  if (j.contains("backend")) {
    s.backend = r.string(j["backend"], p + "/backend");
    static const std::vector<std::string> allowed{"recvmmsg", "recv", "asio", "io_uring", "auto"};
    if (std::find(allowed.begin(), allowed.end(), *s.backend) == allowed.end()) {
      r.fail(p + "/backend", fmt::format("\"{}\" is not a backend (allowed: {})", *s.backend, fmt::join(allowed, ", ")));
    }
  }
  if (j.contains("threads")) s.threads = static_cast<std::uint32_t>(r.integer(j["threads"], p + "/threads", 1, 64));
  if (j.contains("cpus")) {
    s.cpus = r.string(j["cpus"], p + "/cpus");
    static const std::regex list(R"(^\d+(-\d+)?(,\d+(-\d+)?)*$)");
    if (!std::regex_match(*s.cpus, list)) r.fail(p + "/cpus", fmt::format("\"{}\" is not a CPU list (e.g. \"0,1\" or \"0-1\")", *s.cpus));
  }
  if (j.contains("rcvbuf_force")) {
    s.rcvbuf_force = r.text(j["rcvbuf_force"], p + "/rcvbuf_force");
    auto bytes = r.unit(p + "/rcvbuf_force", [&] { return parse_size(*s.rcvbuf_force); });
    if (bytes < 1 || bytes > (1ULL << 30) - 1) r.fail(p + "/rcvbuf_force", fmt::format("\"{}\" is out of range 1 B..1 GiB", *s.rcvbuf_force));
    if (j.contains("rcvbuf")) r.fail(p + "/rcvbuf_force", "give rcvbuf or rcvbuf_force, not both");
  }
  for (auto [key, field] : {std::pair{"work", &s.work}, std::pair{"hang_after", &s.hang_after}}) {
    if (!j.contains(key)) continue;
    *field = r.string(j[key], p + "/" + key);
    auto ns = r.unit(p + "/" + key, [&] { return parse_duration_ns(**field); });
    if (std::string(key) == "work" && ns > 10'000'000) r.fail(p + "/work", fmt::format("\"{}\" is out of range 0..10ms", **field));
    if (std::string(key) == "hang_after" && ns == 0) r.fail(p + "/hang_after", "must be > 0");
  }
  if (j.contains("cpu")) s.cpu = cpu_index(r, j["cpu"], p + "/cpu");
  if (j.contains("port")) s.port = static_cast<std::uint16_t>(r.integer(j["port"], p + "/port", 1, 65535));
  if (j.contains("rcvbuf")) {
    s.rcvbuf = r.text(j["rcvbuf"], p + "/rcvbuf");
    auto bytes = r.unit(p + "/rcvbuf", [&] { return parse_size(*s.rcvbuf); });
    if (bytes < 1 || bytes > (1ULL << 31) - 1) {
      r.fail(p + "/rcvbuf", fmt::format("\"{}\" is out of range 1 B..2 GiB", *s.rcvbuf));
    }
  }
  if (j.contains("read_rate")) {
    s.read_rate = r.text(j["read_rate"], p + "/read_rate");
    Rate rate = r.unit(p + "/read_rate", [&] { return parse_rate(*s.read_rate); });
    if (rate.kind != Rate::Kind::Pps) {
      r.fail(p + "/read_rate",
             fmt::format("\"{}\": a read rate is in packets per second (pps, kpps, Mpps)", *s.read_rate));
    }
  }
  if (j.contains("stall")) {
    s.stall = r.string(j["stall"], p + "/stall");
    auto slash = s.stall->find('/');
    if (slash == std::string::npos) {
      r.fail(p + "/stall", fmt::format("\"{}\" is not DUR/EVERY (e.g. \"200ms/1s\")", *s.stall));
    }
    auto dur = r.unit(p + "/stall", [&] { return parse_duration_ns(s.stall->substr(0, slash)); });
    auto every = r.unit(p + "/stall", [&] { return parse_duration_ns(s.stall->substr(slash + 1)); });
    if (dur == 0 || dur >= every) {
      r.fail(p + "/stall", fmt::format("\"{}\": DUR must be > 0 and shorter than EVERY", *s.stall));
    }
  }
  if (j.contains("batch")) s.batch = static_cast<std::uint32_t>(r.integer(j["batch"], p + "/batch", 1, 1024));
  return s;
}

Settings parse_settings(const Reader& r, const json& j) {
  const std::string p = "/settings";
  r.object(j, p, {"sysctls", "rx_sysctls", "rps_cpus", "tx_qdisc", "rx_nft_rules", "tx_offloads",
                  "rx_offloads"});
  Settings s;
  if (j.contains("tx_qdisc")) {
    s.tx_qdisc = r.string(j["tx_qdisc"], p + "/tx_qdisc");
    static const std::regex spec(R"(^[a-z_]+( [A-Za-z0-9_.:/-]+)*$)");
    if (!std::regex_match(*s.tx_qdisc, spec)) {
      r.fail(p + "/tx_qdisc", fmt::format("\"{}\" is not a tc qdisc spec (e.g. \"pfifo limit 10\")", *s.tx_qdisc));
    }
  }
  if (j.contains("rx_nft_rules")) {
    const json& rules = j["rx_nft_rules"];
    if (!rules.is_array()) r.fail(p + "/rx_nft_rules", fmt::format("expected an array of rule strings, got {}", rules.dump()));
    for (std::size_t i = 0; i < rules.size(); ++i) {
      std::string ptr = fmt::format("{}/rx_nft_rules/{}", p, i);
      // A rule, or {"rule": RULE, "copies": N}: N copies make each packet's
      // path through netfilter slower, on purpose.
      std::size_t copies = 1;
      std::string rule;
      if (rules[i].is_object()) {
        r.object(rules[i], ptr, {"rule", "copies"});
        if (!rules[i].contains("rule")) r.fail(ptr + "/rule", "missing");
        rule = r.string(rules[i]["rule"], ptr + "/rule");
        if (rules[i].contains("copies")) copies = r.integer(rules[i]["copies"], ptr + "/copies", 1, 10000);
        ptr += "/rule";
      } else {
        rule = r.string(rules[i], ptr);
      }
      if (rule.find_first_of(";\n{}") != std::string::npos) {
        r.fail(ptr, fmt::format("\"{}\": one rule per string, without ; newlines or braces", rule));
      }
      if (!std::regex_search(rule, std::regex(R"(\bcounter\b)"))) {
        r.fail(ptr, fmt::format("\"{}\": a rule needs a counter, so its drops can be attributed", rule));
      }
      s.rx_nft_rules.insert(s.rx_nft_rules.end(), copies, rule);
    }
  }
  for (const char* side : {"tx_offloads", "rx_offloads"}) {
    if (!j.contains(side)) continue;
    std::string ptr = p + "/" + side;
    const json& o = j[side];
    if (!o.is_object()) r.fail(ptr, fmt::format("expected an object of feature: \"on\"|\"off\", got {}", o.dump()));
    auto& out = std::string(side) == "tx_offloads" ? s.tx_offloads : s.rx_offloads;
    for (const auto& [k, v] : o.items()) {
      static const std::regex feature(R"(^[a-z][a-z0-9-]*$)");
      if (!std::regex_match(k, feature)) r.fail(ptr + "/" + k, "not an ethtool feature name (e.g. gro, tso)");
      std::string val = r.string(v, ptr + "/" + k);
      if (val != "on" && val != "off") r.fail(ptr + "/" + k, fmt::format("\"{}\": use \"on\" or \"off\"", val));
      out[k] = val;
    }
  }
  if (j.contains("sysctls")) s.sysctls = sysctl_map(r, j["sysctls"], p + "/sysctls");
  if (j.contains("rx_sysctls")) s.rx_sysctls = sysctl_map(r, j["rx_sysctls"], p + "/rx_sysctls");
  if (j.contains("rps_cpus")) {
    std::string m = r.string(j["rps_cpus"], p + "/rps_cpus");
    bool hex = !m.empty() && std::all_of(m.begin(), m.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ',';
    });
    if (!hex) r.fail(p + "/rps_cpus", fmt::format("\"{}\" is not a hex CPU mask (e.g. \"2\" for CPU 1)", m));
    s.rps_cpus = m;
  }
  return s;
}

Expect parse_expect(const Reader& r, const json& j) {
  const std::string p = "/expect";
  r.object(j, p, {"no_loss", "drops_at", "min_fraction", "max_unexplained", "counters_moved"});
  Expect e;
  if (j.contains("no_loss")) e.no_loss = r.boolean(j["no_loss"], p + "/no_loss");
  if (j.contains("drops_at")) {
    e.drops_at = r.string(j["drops_at"], p + "/drops_at");
    const auto& names = stage_names();
    if (std::find(names.begin(), names.end(), e.drops_at) == names.end()) {
      r.fail(p + "/drops_at", fmt::format("\"{}\" is not a stage (allowed: {})", e.drops_at,
                                          fmt::join(names, ", ")));
    }
  }
  if (j.contains("min_fraction")) e.min_fraction = r.number(j["min_fraction"], p + "/min_fraction", 0, 1);
  if (j.contains("max_unexplained")) {
    e.max_unexplained = r.integer(j["max_unexplained"], p + "/max_unexplained", 0, 1'000'000'000'000ULL);
  }
  if (j.contains("counters_moved")) {
    const json& c = j["counters_moved"];
    if (!c.is_array()) r.fail(p + "/counters_moved", fmt::format("expected an array of counter keys, got {}", c.dump()));
    for (std::size_t i = 0; i < c.size(); ++i) {
      e.counters_moved.push_back(r.string(c[i], fmt::format("{}/counters_moved/{}", p, i)));
    }
  }
  if (e.no_loss && !e.drops_at.empty()) r.fail(p, "give either \"no_loss\": true or \"drops_at\", not both");
  if (!e.no_loss && e.drops_at.empty()) r.fail(p, "needs \"no_loss\": true or \"drops_at\": STAGE");
  return e;
}

HostSpec parse_host(const Reader& r, const json& j, const std::string& p, bool rx) {
  if (rx) {
    r.object(j, p, {"agent", "dev", "addr"});
  } else {
    r.object(j, p, {"agent", "dev"});
  }
  HostSpec h;
  if (!j.contains("agent")) r.fail(p + "/agent", "missing (\"local\", \"ssh://[user@]host\" or \"tls://host:port\")");
  h.agent = r.string(j["agent"], p + "/agent");
  static const std::regex agent(R"(^(local|ssh://([A-Za-z0-9][A-Za-z0-9._-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]{1,5})?(/[A-Za-z0-9._/-]+)?|tls://[A-Za-z0-9][A-Za-z0-9._-]*:[0-9]{1,5})$)");
  if (!std::regex_match(h.agent, agent)) {
    r.fail(p + "/agent", fmt::format("\"{}\": use \"local\", \"ssh://[user@]host[:port][/path/to/droplab]\" or "
                                     "\"tls://host:port\"",
                                     h.agent));
  }
  if (!j.contains("dev")) r.fail(p + "/dev", "missing (the device that carries the traffic, e.g. \"eth1\")");
  h.dev = r.string(j["dev"], p + "/dev");
  static const std::regex dev("[A-Za-z0-9_.:@-]{1,15}");
  if (!std::regex_match(h.dev, dev)) r.fail(p + "/dev", fmt::format("\"{}\" is not a device name", h.dev));
  if (rx) {
    if (!j.contains("addr")) r.fail(p + "/addr", "missing (the receiver's address in 198.18.0.0/15)");
    h.addr = r.string(j["addr"], p + "/addr");
    bool ok = false;
    try {
      ok = in_benchmark_range(parse_ipv4(*h.addr));
    } catch (const std::exception&) {
    }
    if (!ok) r.fail(p + "/addr", fmt::format("\"{}\": must be an IPv4 address in 198.18.0.0/15", *h.addr));
  }
  return h;
}

HostsSpec parse_hosts(const Reader& r, const json& j, const Settings& s) {
  const std::string p = "/hosts";
  r.object(j, p, {"rx", "tx"});
  HostsSpec h;
  if (!j.contains("rx")) r.fail(p + "/rx", "missing (the receiving host)");
  h.rx = parse_host(r, j["rx"], p + "/rx", true);
  if (!j.contains("tx") || !j["tx"].is_array() || j["tx"].empty()) {
    r.fail(p + "/tx", "expected a non-empty array of sending hosts");
  }
  for (std::size_t i = 0; i < j["tx"].size(); ++i) h.tx.push_back(parse_host(r, j["tx"][i], fmt::format("{}/tx/{}", p, i), false));
  // What an agent can change: allow-listed sysctls and the RPS mask.
  for (const auto* m : {&s.sysctls, &s.rx_sysctls}) {
    for (const auto& [k, v] : *m) {
      if (!agent_sysctl_allowed(k)) {
        r.fail(fmt::format("/settings/{}/{}", m == &s.sysctls ? "sysctls" : "rx_sysctls", k),
               fmt::format("an agent may change only {} and net.ipv4.conf.<dev>.rp_filter",
                           fmt::join(agent_sysctl_allow_list(), ", ")));
      }
    }
  }
  if (s.tx_qdisc || !s.rx_nft_rules.empty() || !s.tx_offloads.empty() || !s.rx_offloads.empty()) {
    r.fail("/settings", "with hosts, settings may hold sysctls, rx_sysctls and rps_cpus only "
                        "(tx_qdisc, rx_nft_rules and offloads change the local lab)");
  }
  return h;
}

} // namespace

const std::vector<std::string>& agent_sysctl_allow_list() {
  static const std::vector<std::string> keys{
      "net.core.rmem_max",         "net.core.rmem_default",        "net.core.wmem_max",
      "net.core.wmem_default",     "net.core.netdev_max_backlog",  "net.core.netdev_budget",
      "net.core.netdev_budget_usecs", "net.core.dev_weight",       "net.core.flow_limit_cpu_bitmap",
      "net.core.flow_limit_table_len", "net.ipv4.udp_mem",         "net.ipv4.udp_rmem_min",
      "net.ipv4.udp_wmem_min",     "net.ipv4.conf.all.rp_filter",  "net.ipv4.conf.default.rp_filter",
      "net.netfilter.nf_conntrack_max"};
  return keys;
}

bool agent_sysctl_allowed(const std::string& key) {
  const auto& keys = agent_sysctl_allow_list();
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
  static const std::regex per_dev(R"(net\.ipv4\.conf\.[A-Za-z0-9_:@-]{1,15}\.rp_filter)");
  return std::regex_match(key, per_dev);
}

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names{"gen", "qdisc",     "tx_device", "nic_ring", "rx_device", "backlog",
                                              "ip",  "netfilter", "udp",       "socket",   "app"};
  return names;
}

Profile parse_profile(const json& doc, const std::string& path) {
  Reader r(path);
  r.object(doc, "", {"name", "description", "settings", "gen", "sink", "drain_timeout", "expect", "hosts"});
  Profile p;
  p.path = path;
  if (!doc.contains("name")) r.fail("/name", "missing (every profile has a name)");
  p.name = r.string(doc["name"], "/name");
  if (doc.contains("description")) p.description = r.string(doc["description"], "/description");
  if (doc.contains("settings")) p.settings = parse_settings(r, doc["settings"]);
  if (doc.contains("gen")) p.gen_doc = doc["gen"];
  if (doc.contains("sink")) p.sink_doc = doc["sink"];
  p.gen = parse_gen(r, p.gen_doc);
  p.sink = parse_sink(r, p.sink_doc);
  if (doc.contains("drain_timeout")) {
    std::string t = r.text(doc["drain_timeout"], "/drain_timeout");
    p.drain_timeout_ns = r.unit("/drain_timeout", [&] { return parse_duration_ns(t); });
    if (p.drain_timeout_ns > 60'000'000'000ULL) r.fail("/drain_timeout", fmt::format("\"{}\" is out of range 0..60s", t));
  }
  if (doc.contains("expect")) p.expect = parse_expect(r, doc["expect"]);
  if (doc.contains("hosts")) p.hosts = parse_hosts(r, doc["hosts"], p.settings);
  return p;
}

std::vector<std::string> profile_dirs() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {}; // no /proc: only paths work
  return {(self.parent_path() / ".." / "share" / "droplab" / "profiles").lexically_normal().string()};
}

std::vector<std::string> profile_names(const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  std::set<std::string> names;
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".json" && it->is_regular_file(ec))
        names.insert(it->path().stem().string());
    }
  }
  return {names.begin(), names.end()};
}

std::string resolve_profile(const std::string& arg, const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_path = arg.find('/') != std::string::npos || fs::path(arg).extension() == ".json" ||
                       fs::is_regular_file(arg, ec);
  if (is_path || arg.empty()) return arg;
  std::vector<std::string> looked;
  for (const auto& dir : dirs) {
    const fs::path file = fs::path(dir) / (arg + ".json");
    if (fs::is_regular_file(file, ec)) return file.string();
    looked.push_back(fs::is_directory(dir, ec)
                         ? file.string()
                         : fmt::format("{} (no such directory)", dir));
  }
  const auto names = profile_names(dirs);
  throw ProfileError(
      fmt::format("no profile named \"{}\": looked for {}; profiles there: {}; or give the path of "
                  "a profile JSON file",
                  arg,
                  looked.empty() ? std::string("nothing (cannot read /proc/self/exe)")
                                 : fmt::format("{}", fmt::join(looked, ", ")),
                  names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
}

std::string resolve_profile(const std::string& arg) {
  return resolve_profile(arg, profile_dirs());
}

Profile load_profile(const std::string& path) {
  return parse_profile(load_profile_json(path), path);
}

} // namespace droplab::harness
