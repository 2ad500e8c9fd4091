#include "gen/imix.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <charconv>

namespace droplab::gen {
namespace {

bool parse_uint(std::string_view t, std::uint64_t& out) {
  if (t.empty()) return false;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && p == t.data() + t.size();
}

} // namespace

Imix Imix::parse(std::string_view text, std::size_t min_size, std::size_t max_size) {
  Imix m;
  std::uint64_t total = 0;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto colon = item.find(':');
    std::uint64_t size = 0, weight = 0;
    if (colon == std::string_view::npos || !parse_uint(item.substr(0, colon), size) ||
        !parse_uint(item.substr(colon + 1), weight)) {
      throw UnitError(fmt::format("\"{}\": entry \"{}\" is not SIZE:WEIGHT (integers, e.g. "
                                  "64:7,570:4,1518:1)",
                                  text, item));
    }
    if (size < min_size || size > max_size) {
      throw UnitError(fmt::format("\"{}\": size {} must be {}..{} bytes on the wire", text, size,
                                  min_size, max_size));
    }
    if (weight == 0)
      throw UnitError(fmt::format("\"{}\": weight of {} must be at least 1", text, size));
    total += weight;
    if (total > kMaxImixWeightTotal) {
      throw UnitError(
          fmt::format("\"{}\": weights add up to more than {}", text, kMaxImixWeightTotal));
    }
    m.entries_.push_back(ImixEntry{.size = size, .weight = static_cast<std::uint32_t>(weight)});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  // Smooth weighted round robin (as nginx balances upstreams): each slot goes
  // to the entry with the largest running credit, spreading heavy entries out.
  std::vector<std::int64_t> credit(m.entries_.size(), 0);
  m.pattern_.reserve(total);
  for (std::uint64_t slot = 0; slot < total; ++slot) {
    std::size_t best = 0;
    for (std::size_t e = 0; e < credit.size(); ++e) {
      credit[e] += m.entries_[e].weight;
      if (credit[e] > credit[best]) best = e;
    }
    credit[best] -= static_cast<std::int64_t>(total);
    m.pattern_.push_back(static_cast<std::uint16_t>(best));
  }
  return m;
}

std::size_t Imix::max_size() const {
  std::size_t m = 0;
  for (const auto& e : entries_)
    m = std::max(m, e.size);
  return m;
}

double Imix::mean_size() const {
  double sum = 0, w = 0;
  for (const auto& e : entries_) {
    sum += static_cast<double>(e.size) * e.weight;
    w += e.weight;
  }
  return w > 0 ? sum / w : 0;
}

std::string Imix::to_string() const {
  std::string out;
  for (const auto& e : entries_)
    out += fmt::format("{}{}:{}", out.empty() ? "" : ",", e.size, e.weight);
  return out;
}

} // namespace droplab::gen
