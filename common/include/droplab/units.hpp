// Parsing and printing of rates, sizes, durations and counts.
// Rates use SI prefixes (1000): pps, kpps, Mpps, Gpps, bit/s, kbit/s, Mbit/s,
// Gbit/s. Buffer sizes use binary prefixes (1024): K/KiB, M/MiB, G/GiB.
// Durations: ns, us, ms, s, m (minutes); a bare number is seconds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace droplab {

// Thrown for text that does not parse as the requested unit; the message
// quotes the input and lists what is allowed, and callers prefix the flag or
// JSON key path.
class UnitError : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

struct Rate {
  enum class Kind { Pps, BitsPerSecond, Max };
  Kind kind = Kind::Max;
  double value = 0; // packets/s or bit/s; 0 for Max

  bool is_max() const { return kind == Kind::Max; }
  // Packets per second for frames of `wire_size` bytes on the wire (bit/s
  // counts every byte of the frame, FCS included, no preamble or gap).
  // Returns 0 for Max.
  double pps(std::size_t wire_size) const;
  std::string to_string() const;
};

Rate parse_rate(std::string_view text);            // "50kpps", "1Gbit/s", "max", "20000"
std::uint64_t parse_size(std::string_view text);   // "4096", "4KiB", "2M" -> bytes
std::uint64_t parse_duration_ns(std::string_view text); // "2s", "100ms", "1.5"
std::uint64_t parse_count(std::string_view text);  // "1000000"

// Human formatting: "12.35 kpps", "1.20 Mbit/s", "4.0 KiB", "1.500 s",
// and counts with thousands separators: "1,234,567".
std::string format_pps(double pps);
std::string format_bps(double bps);
std::string format_bytes(std::uint64_t bytes);
std::string format_duration(std::uint64_t ns);
std::string format_count(std::uint64_t n);
std::string format_count(std::int64_t n);

} // namespace droplab
