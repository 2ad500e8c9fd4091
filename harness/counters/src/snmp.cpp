#include "droplab/counters/snmp.hpp"

#include "parse_util.hpp"

#include <string>

namespace droplab::counters {

namespace {

struct Line {
  std::size_t number;
  std::string_view proto;
  std::vector<std::string_view> tokens;
};

Line split_proto(std::string_view text, std::size_t number, std::string_view origin) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    throw ParseError(std::string(origin), number, "expected \"Proto: …\"");
  return Line{.number = number,
              .proto = text.substr(0, colon),
              .tokens = detail::split_ws(text.substr(colon + 1))};
}

} // namespace

std::vector<SnmpField> parse_snmp(std::string_view text, std::string_view origin) {
  std::vector<Line> lines;
  std::size_t number = 0;
  for (std::string_view raw : detail::split_lines(text)) {
    ++number;
    if (detail::trim(raw).empty()) continue;
    lines.push_back(split_proto(raw, number, origin));
  }

  std::vector<SnmpField> out;
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    const Line &names = lines[i];
    if (i + 1 == lines.size())
      throw ParseError(std::string(origin), names.number,
                       std::string(names.proto) + " header has no value line");
    const Line &values = lines[i + 1];
    if (values.proto != names.proto)
      throw ParseError(std::string(origin), values.number,
                       "expected the " + std::string(names.proto) + " value line, found " +
                           std::string(values.proto));
    if (values.tokens.size() != names.tokens.size())
      throw ParseError(std::string(origin), values.number,
                       std::to_string(values.tokens.size()) + " values for " +
                           std::to_string(names.tokens.size()) + " " + std::string(names.proto) +
                           " fields");

    for (std::size_t k = 0; k < names.tokens.size(); ++k) {
      SnmpField f{.proto = std::string(names.proto),
                  .name = std::string(names.tokens[k]),
                  .value = std::nullopt,
                  .unavailable_reason = {}};
      std::string_view v = values.tokens[k];
      std::string what = f.proto + "." + f.name;
      if (!v.empty() && v.front() == '-') {
        detail::parse_dec(v.substr(1), origin, values.number, what); // still a number?
        f.unavailable_reason = "negative value " + std::string(v) + " (a setting, not a counter)";
      } else {
        f.value = detail::parse_dec(v, origin, values.number, what);
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

} // namespace droplab::counters
