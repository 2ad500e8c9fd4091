#include "droplab/units.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace droplab {
namespace {

struct Suffix {
  std::string_view name;
  double mult;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "12.5 kpps" into 12.5 and "kpps". Throws when there is no leading number.
std::pair<double, std::string_view> split_number(std::string_view text, std::string_view what,
                                                 std::string_view allowed) {
  std::string_view s = trim(text);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || !std::isfinite(v)) {
    throw UnitError(fmt::format("\"{}\" is not a {} (use {})", text, what, allowed));
  }
  std::string_view unit = trim(std::string_view(ptr, static_cast<std::size_t>(s.data() + s.size() - ptr)));
  return {v, unit};
}

template <std::size_t N>
double lookup(std::string_view unit, const std::array<Suffix, N>& table, std::string_view text,
              std::string_view what, std::string_view allowed) {
  for (const auto& s : table) {
    if (unit == s.name) return s.mult;
  }
  throw UnitError(fmt::format("\"{}\" is not a {} (use {})", text, what, allowed));
}

constexpr std::string_view kRateAllowed =
    "pps, kpps, Mpps, Gpps, or bit/s, kbit/s, Mbit/s, Gbit/s; or \"max\"";
constexpr std::string_view kSizeAllowed = "bytes, or K/KiB, M/MiB, G/GiB (1024)";
constexpr std::string_view kDurationAllowed = "ns, us, ms, s, m; a bare number is seconds";

} // namespace

double Rate::pps(std::size_t wire_size) const {
  switch (kind) {
  case Kind::Pps: return value;
  case Kind::BitsPerSecond: return value / (8.0 * static_cast<double>(wire_size));
  case Kind::Max: return 0;
  }
  return 0;
}

std::string Rate::to_string() const {
  switch (kind) {
  case Kind::Pps: return format_pps(value);
  case Kind::BitsPerSecond: return format_bps(value);
  case Kind::Max: return "max";
  }
  return "?";
}

Rate parse_rate(std::string_view text) {
  if (trim(text) == "max") return Rate{};
  auto [v, unit] = split_number(text, "rate", kRateAllowed);
  static constexpr std::array<Suffix, 4> pps{{{"pps", 1}, {"kpps", 1e3}, {"Mpps", 1e6}, {"Gpps", 1e9}}};
  static constexpr std::array<Suffix, 8> bps{{{"bit/s", 1},
                                              {"kbit/s", 1e3},
                                              {"Mbit/s", 1e6},
                                              {"Gbit/s", 1e9},
                                              {"bps", 1},
                                              {"kbps", 1e3},
                                              {"Mbps", 1e6},
                                              {"Gbps", 1e9}}};
  Rate r;
  if (unit.empty()) {
    r = Rate{Rate::Kind::Pps, v};
  } else {
    bool found = false;
    for (const auto& s : pps) {
      if (unit == s.name) { r = Rate{Rate::Kind::Pps, v * s.mult}; found = true; }
    }
    for (const auto& s : bps) {
      if (unit == s.name) { r = Rate{Rate::Kind::BitsPerSecond, v * s.mult}; found = true; }
    }
    if (!found) throw UnitError(fmt::format("\"{}\" is not a rate (use {})", text, kRateAllowed));
  }
  if (!(r.value > 0)) {
    throw UnitError(fmt::format("\"{}\": a rate must be greater than 0 (or \"max\")", text));
  }
  return r;
}

std::uint64_t parse_size(std::string_view text) {
  auto [v, unit] = split_number(text, "size", kSizeAllowed);
  static constexpr std::array<Suffix, 8> table{{{"", 1},
                                                {"B", 1},
                                                {"K", 1024.0},
                                                {"KiB", 1024.0},
                                                {"M", 1024.0 * 1024},
                                                {"MiB", 1024.0 * 1024},
                                                {"G", 1024.0 * 1024 * 1024},
                                                {"GiB", 1024.0 * 1024 * 1024}}};
  double bytes = v * lookup(unit, table, text, "size", kSizeAllowed);
  if (bytes < 0) throw UnitError(fmt::format("\"{}\": a size must not be negative", text));
  if (bytes != std::floor(bytes)) {
    throw UnitError(fmt::format("\"{}\" is not a whole number of bytes", text));
  }
  if (bytes > static_cast<double>(std::numeric_limits<std::int64_t>::max())) {
    throw UnitError(fmt::format("\"{}\" is too large", text));
  }
  return static_cast<std::uint64_t>(bytes);
}

std::uint64_t parse_duration_ns(std::string_view text) {
  auto [v, unit] = split_number(text, "duration", kDurationAllowed);
  static constexpr std::array<Suffix, 6> table{
      {{"", 1e9}, {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}}};
  double ns = v * lookup(unit, table, text, "duration", kDurationAllowed);
  if (ns < 0) throw UnitError(fmt::format("\"{}\": a duration must not be negative", text));
  if (ns > 1e18) throw UnitError(fmt::format("\"{}\" is too long", text));
  return static_cast<std::uint64_t>(std::llround(ns));
}

std::uint64_t parse_count(std::string_view text) {
  std::string_view s = trim(text);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
    throw UnitError(fmt::format("\"{}\" is not a count (use a whole number >= 0)", text));
  }
  return v;
}

std::string format_pps(double pps) {
  if (pps >= 1e6) return fmt::format("{:.3f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.2f} kpps", pps / 1e3);
  return fmt::format("{:.0f} pps", pps);
}

std::string format_bps(double bps) {
  if (bps >= 1e9) return fmt::format("{:.3f} Gbit/s", bps / 1e9);
  if (bps >= 1e6) return fmt::format("{:.2f} Mbit/s", bps / 1e6);
  if (bps >= 1e3) return fmt::format("{:.2f} kbit/s", bps / 1e3);
  return fmt::format("{:.0f} bit/s", bps);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes >= (1ULL << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ULL << 30));
  if (bytes >= (1ULL << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ULL << 20));
  if (bytes >= (1ULL << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / (1ULL << 10));
  return fmt::format("{} B", bytes);
}

std::string format_count(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string format_count(std::int64_t n) {
  return n < 0 ? "-" + format_count(static_cast<std::uint64_t>(-n)) : format_count(static_cast<std::uint64_t>(n));
}

std::string format_duration(std::uint64_t ns) {
  if (ns >= 1'000'000'000ULL) return fmt::format("{:.3f} s", static_cast<double>(ns) / 1e9);
  if (ns >= 1'000'000ULL) return fmt::format("{:.3f} ms", static_cast<double>(ns) / 1e6);
  if (ns >= 1'000ULL) return fmt::format("{:.3f} us", static_cast<double>(ns) / 1e3);
  return fmt::format("{} ns", ns);
}

} // namespace droplab
