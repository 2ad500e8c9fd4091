// Applying a profile's settings to the host and the lab. Every change is
// journaled before it is made, with the value it replaces.
#pragma once

#include "journal.hpp"
#include "lab.hpp"
#include "profile.hpp"

#include <string>
#include <vector>

namespace droplab::harness {

struct SettingRecord {
  std::string key;
  std::string scope; // "host", "netns <rx>", "sysfs in netns <rx>", …
  std::string old_value;
  std::string applied_value;
};

// The nftables table droplab owns in the receiving namespace.
inline constexpr const char* kNftFamily = "inet";
inline constexpr const char* kNftTable = "droplab";

// Applies, in an order where each step's prerequisites exist: nftables rules,
// offloads, the sending qdisc, RPS, host sysctls, namespace sysctls. A value
// the kernel stores differently from what was asked is an error, not a
// silent clamp. Throws on the first failure; what was done is in the journal.
std::vector<SettingRecord> apply_settings(const Profile& p, const Lab& lab, Journal& journal);

// One sysctl (`netns` "" = ours), journaled first; an error if the kernel
// then holds something other than what was asked.
SettingRecord apply_sysctl(Journal& journal, const std::string& key, const std::string& value,
                           const std::string& netns);
// The RPS CPU mask of a device's receive queue, journaled first.
SettingRecord apply_rps(Journal& journal, const std::string& dev, unsigned queue, const std::string& mask,
                        const std::string& netns);

// True when the profile's nftables rules use conntrack.
bool uses_conntrack(const Profile& p);

// Undo actions for the journal entries this file creates.
std::string undo_qdisc(const std::string& netns, const std::string& dev);
std::string undo_nft_table(const std::string& netns, const std::string& family, const std::string& table);

} // namespace droplab::harness
