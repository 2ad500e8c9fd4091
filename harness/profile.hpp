// Profiles: JSON scenarios, each reproducing one kind of drop. A profile is
// validated completely when loaded, before anything on the host changes: an
// unknown key, a wrong type or an out-of-range value is a ProfileError naming
// the file, the JSON path and what is allowed (exit code 2).
#pragma once

#include "droplab/cli.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

class ProfileError : public UsageError {
public:
  using UsageError::UsageError;
};

struct GenSpec {
  std::string rate = "10kpps"; // as written; validated with parse_rate
  std::optional<std::string> duration; // validated with parse_duration_ns
  std::optional<std::uint64_t> count;
  std::uint32_t size = 64;
  std::uint32_t flows = 1;
  std::uint32_t batch = 32;
  std::optional<unsigned> cpu;        // pin the generator to this CPU
  // The generator's backend. Profiles default to sendmmsg, whose "sent" is
  // exactly what the kernel accepted, whatever `auto` would pick on a host.
  std::string backend = "sendmmsg";
  std::optional<std::string> src_range; // af_packet: source addresses "A-B" (spoofing)
  std::optional<std::string> fault;     // af_packet: a deliberate frame fault ("udp-csum")
  std::optional<std::uint32_t> burst;   // N back to back, then the gap that keeps the rate
  std::optional<std::uint16_t> port;  // destination port; default: the sink's
};

struct SinkSpec {
  std::uint16_t port = 9000;
  std::optional<unsigned> cpu;          // pin the sink process to this CPU
  std::optional<std::string> backend;      // recvmmsg, recv, asio, io_uring, auto
  std::optional<std::uint32_t> threads;    // SO_REUSEPORT readers
  std::optional<std::string> cpus;         // per-reader pinning, "0,1" or "0-1"
  std::optional<std::string> rcvbuf_force; // SO_RCVBUFFORCE (size)
  std::optional<std::string> work;         // CPU work per datagram (duration)
  std::optional<std::string> hang_after;   // stop reading for good after (duration)
  std::optional<std::string> rcvbuf;    // parse_size
  std::optional<std::string> read_rate; // parse_rate, packets per second only
  std::optional<std::string> stall;     // "DUR/EVERY"
  std::uint32_t batch = 64;
  bool gro = false; // UDP_GRO on the sink's socket (droplab-sink --gro)
};

struct Settings {
  std::map<std::string, std::string> sysctls;    // host-global, journaled and restored
  std::map<std::string, std::string> rx_sysctls; // inside the receiving namespace
  std::optional<std::string> rps_cpus;           // hex CPU mask for the receiving veth's rx-0
  std::optional<std::string> tx_qdisc;           // tc qdisc spec for the sending veth ("pfifo limit 10")
  std::vector<std::string> rx_nft_rules;         // rules for chain input of table inet droplab
  std::map<std::string, std::string> tx_offloads; // ethtool -K feature -> on|off, sending veth
  std::map<std::string, std::string> rx_offloads; // same, receiving veth
};

struct Expect {
  bool no_loss = false;
  std::string drops_at;      // a stage name, when !no_loss
  double min_fraction = 0.95; // of all lost packets
  std::uint64_t max_unexplained = 0;
  std::vector<std::string> counters_moved; // counter keys whose delta must be > 0
};

// A host of a multi-host run, reached through its droplab agent.
struct HostSpec {
  std::string agent;               // "local", "ssh://[user@]host[:port][/path/to/droplab]", "tls://host:port"
  std::string dev;                 // the device that carries the experiment's traffic
  std::optional<std::string> addr; // the receiver's address the senders send to (rx only)
};

// Real hosts instead of the local two-namespace lab: one receiver and any
// number of senders, each driven by its agent.
struct HostsSpec {
  HostSpec rx;
  std::vector<HostSpec> tx;
};

struct Profile {
  std::string path;
  std::string name;
  std::string description;
  Settings settings;
  GenSpec gen;
  SinkSpec sink;
  std::uint64_t drain_timeout_ns = 5'000'000'000ULL;
  std::optional<Expect> expect;
  std::optional<HostsSpec> hosts; // absent: the local lab
  // The "gen" and "sink" objects as written (validated above): what a
  // controller sends its agents, which validate them again.
  nlohmann::json gen_doc = nlohmann::json::object();
  nlohmann::json sink_doc = nlohmann::json::object();
};

// The sysctls an agent may change for a controller (and so a profile with
// hosts may set); per-device rp_filter keys (net.ipv4.conf.<dev>.rp_filter)
// are allowed too.
const std::vector<std::string>& agent_sysctl_allow_list();
bool agent_sysctl_allowed(const std::string& key);

// Stage names a profile's expect may name, in path order.
const std::vector<std::string>& stage_names();

// Where shipped profiles live, in the order searched (for a bare name, by doctor): relative
// to the running binary, <bin>/../share/droplab/profiles. That is <prefix>/share/droplab/profiles
// when installed; a build tree links bin/../share/droplab/profiles to the source profiles/.
std::vector<std::string> profile_dirs();

// The bare names (NAME of NAME.json) of the profiles in `dirs`, sorted, each once.
std::vector<std::string> profile_names(const std::vector<std::string>& dirs);

// The file a profile argument names. An existing file, or anything with a slash or
// a .json suffix, is a path and comes back unchanged (it is opened as it always
// was); a bare name ("socket-rcvbuf") is DIR/NAME.json in the first of `dirs`
// that has it. An unknown bare name is a ProfileError listing where it looked
// and the names there.
std::string resolve_profile(const std::string& arg, const std::vector<std::string>& dirs);
std::string resolve_profile(const std::string& arg); // in profile_dirs()

// Loads and validates. `path` may be a bare name (resolve_profile). Throws ProfileError.
Profile load_profile(const std::string& path);
// Validates an already parsed document; `path` is used in messages.
Profile parse_profile(const nlohmann::json& doc, const std::string& path);

} // namespace droplab::harness
