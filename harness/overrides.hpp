// Changing a profile from the command line: `droplab compare`'s SETTINGS and
// `droplab sweep`'s --vary. A KEY names a profile field by its dotted path
// ("sink.rcvbuf", "settings.sysctls.net.core.netdev_max_backlog"); the result
// is validated as a whole profile, so a bad KEY or VALUE is the same usage
// error (exit 2) a bad profile file is, naming the flag that caused it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace droplab::harness {

struct Override {
  std::string text;                 // as given: "sink.rcvbuf=4MiB"
  nlohmann::json::json_pointer ptr; // /sink/rcvbuf
  nlohmann::json value;             // parsed as JSON when it is JSON (64, true), else a string; null removes
  std::string key() const { return text.substr(0, text.find('=')); }
  std::string value_text() const { return text.substr(text.find('=') + 1); }
};

// "KEY=VALUE". Under settings.sysctls, rx_sysctls, tx_offloads and
// rx_offloads the rest of the path is one key (sysctl names have dots).
// Throws UsageError naming `flag`.
Override parse_override(const std::string& flag, const std::string& text);

// "KEY=V1,V2,..." or "KEY=[json array]" (when a value holds a comma).
std::vector<Override> parse_vary(const std::string& text);

// One arm's SETTINGS: each item is KEY=VALUE, an inline JSON object or a
// JSON file, the latter two applied as a merge patch (RFC 7386). Returns the
// patched document; throws UsageError naming `flag` and the item.
struct Patch {
  std::vector<std::string> items; // as given, for reports
  std::vector<Override> overrides;
  std::vector<nlohmann::json> merge_patches;
};
Patch parse_settings(const std::string& flag, const std::vector<std::string>& items);

nlohmann::json apply_override(nlohmann::json doc, const Override& o);
nlohmann::json apply_patch(nlohmann::json doc, const Patch& p);

// The profile document as a JSON value (ProfileError if unreadable or not JSON).
// `path` may be a bare name of a shipped profile (resolve_profile).
nlohmann::json load_profile_json(const std::string& path);

} // namespace droplab::harness
