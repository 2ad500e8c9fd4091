#include "overrides.hpp"

#include "profile.hpp"

#include "droplab/cli.hpp"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using nlohmann::json;

namespace droplab::harness {
namespace {

// Profile objects whose keys are free text (sysctl names, ethtool features).
bool is_map(const std::string& path) {
  return path == "settings.sysctls" || path == "settings.rx_sysctls" || path == "settings.tx_offloads" ||
         path == "settings.rx_offloads";
}

json::json_pointer key_pointer(const std::string& flag, const std::string& key) {
  if (key.empty()) throw UsageError(fmt::format("{}: missing KEY before '='", flag));
  json::json_pointer ptr;
  std::string walked;
  std::size_t pos = 0;
  while (pos <= key.size()) {
    if (is_map(walked)) {
      ptr /= key.substr(pos); // the rest, dots and all
      return ptr;
    }
    std::size_t dot = key.find('.', pos);
    std::string part = key.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (part.empty()) throw UsageError(fmt::format("{}: \"{}\": empty path segment", flag, key));
    ptr /= part;
    walked += (walked.empty() ? "" : ".") + part;
    if (dot == std::string::npos) return ptr;
    pos = dot + 1;
  }
  return ptr;
}

// A value as JSON when it is JSON (numbers, booleans, null, arrays,
// objects), else the text as a string: "4MiB", "0,1", "pfifo limit 10".
json parse_value(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(text) : v;
}

std::string read_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("{}: cannot open {}: {}", flag, path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

Override parse_override(const std::string& flag, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos) {
    throw UsageError(fmt::format("{}: \"{}\": expected KEY=VALUE (e.g. sink.rcvbuf=4MiB)", flag, text));
  }
  Override o;
  o.text = text;
  o.ptr = key_pointer(flag, text.substr(0, eq));
  o.value = parse_value(text.substr(eq + 1));
  return o;
}

std::vector<Override> parse_vary(const std::string& text) {
  const std::string flag = "--vary";
  auto eq = text.find('=');
  if (eq == std::string::npos) {
    throw UsageError(fmt::format("{} \"{}\": expected KEY=V1,V2,... (e.g. sink.rcvbuf=64KiB,1MiB)", flag, text));
  }
  std::string key = text.substr(0, eq), rest = text.substr(eq + 1);
  std::vector<std::string> values;
  if (!rest.empty() && rest.front() == '[') {
    json arr = json::parse(rest, nullptr, false);
    if (arr.is_discarded() || !arr.is_array()) {
      throw UsageError(fmt::format("{} \"{}\": the values start with '[' but are not a JSON array", flag, text));
    }
    for (const auto& v : arr) values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  } else {
    std::size_t pos = 0;
    while (pos <= rest.size()) {
      std::size_t comma = rest.find(',', pos);
      values.push_back(rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  if (values.empty()) throw UsageError(fmt::format("{} \"{}\": no values", flag, text));
  std::vector<Override> out;
  for (const auto& v : values) {
    if (v.empty()) throw UsageError(fmt::format("{} \"{}\": an empty value", flag, text));
    out.push_back(parse_override(flag, key + "=" + v));
  }
  return out;
}

Patch parse_settings(const std::string& flag, const std::vector<std::string>& items) {
  Patch p;
  for (const auto& item : items) {
    p.items.push_back(item);
    std::string body;
    if (!item.empty() && item.front() == '{') {
      body = item;
    } else if (std::error_code ec; item.find('=') == std::string::npos && std::filesystem::is_regular_file(item, ec)) {
      body = read_file(flag, item);
    } else {
      p.overrides.push_back(parse_override(flag, item));
      continue;
    }
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      throw UsageError(fmt::format("{} \"{}\": not a JSON object (expected KEY=VALUE, a JSON object or a "
                                   "JSON file holding one)",
                                   flag, item));
    }
    p.merge_patches.push_back(std::move(j));
  }
  return p;
}

json apply_override(json doc, const Override& o) {
  try {
    if (o.value.is_null()) {
      if (doc.contains(o.ptr)) {
        json& parent = doc.at(o.ptr.parent_pointer());
        if (parent.is_object()) parent.erase(o.ptr.back());
      }
      return doc;
    }
    doc[o.ptr] = o.value; // creates the objects on the way
  } catch (const json::exception&) {
    // "gen.rate.x": a path through a value that is not an object.
    throw UsageError(fmt::format("\"{}\": {} does not lead through objects of the profile", o.text, o.key()));
  }
  return doc;
}

json apply_patch(json doc, const Patch& p) {
  for (const auto& m : p.merge_patches) doc.merge_patch(m);
  for (const auto& o : p.overrides) doc = apply_override(std::move(doc), o);
  return doc;
}

json load_profile_json(const std::string& arg) {
  // Every command reads its profile here, so a bare name works for all of them.
  const std::string path = resolve_profile(arg);
  std::ifstream in(path);
  if (!in) throw ProfileError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw ProfileError(fmt::format("{}: not valid JSON at byte {}", path, e.byte));
  }
}

} // namespace droplab::harness
