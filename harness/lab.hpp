// The local lab: two network namespaces joined by a veth pair, addressed in
// the benchmarking range 198.18.0.0/15. Every namespace is journaled before it
// is created; deleting the namespaces removes the veth pair with them.
#pragma once

#include "journal.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace droplab::harness {

inline constexpr const char* kNamePrefix = "dl";

struct Lab {
  std::string id;       // "dl<pid>": prefix of every name below
  std::string tx_ns, rx_ns;
  std::string tx_dev, rx_dev; // tx_dev lives in tx_ns, rx_dev in rx_ns
  std::string tx_addr = "198.18.0.1";
  std::string rx_addr = "198.18.0.2";
  int prefix_len = 30;
  int mtu = 9000; // so every --size up to 9000 bytes on the wire fits

  // Unique names for this process: "dl<pid>-tx", "dl<pid>t", …
  static Lab for_pid(int pid);
};

// Creates the lab; each namespace is journaled first. On failure what was
// made stays in the journal for the caller to undo.
void lab_up(const Lab& lab, Journal& journal);

// Namespace helpers shared with journal undo.
bool netns_exists(const std::string& name);
void delete_netns(const std::string& name);
// Our namespaces present now (names starting with the prefix and ending in
// -tx or -rx).
std::vector<std::string> list_lab_netns();

void to_json(nlohmann::json& j, const Lab& lab);

} // namespace droplab::harness
