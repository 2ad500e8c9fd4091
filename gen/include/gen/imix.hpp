// Weighted frame-size mixes ("IMIX"): --imix 64:7,570:4,1518:1 sends 7 of
// every 12 frames at 64 bytes, 4 at 570 and 1 at 1518, interleaved smoothly
// (not 7 small frames in a row) by a deterministic pattern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::gen {

inline constexpr std::uint32_t kMaxImixWeightTotal = 10000;

struct ImixEntry {
  std::size_t size = 0; // bytes on the wire
  std::uint32_t weight = 0;
};

class Imix {
public:
  Imix() = default;
  // Parses "SIZE:WEIGHT,SIZE:WEIGHT,...": sizes min_size..max_size bytes,
  // integer weights >= 1 adding up to at most kMaxImixWeightTotal. Throws
  // UnitError quoting the offending entry and what is allowed.
  static Imix parse(std::string_view text, std::size_t min_size, std::size_t max_size);

  bool empty() const { return entries_.empty(); }
  const std::vector<ImixEntry>& entries() const { return entries_; }
  std::size_t max_size() const;
  double mean_size() const;
  // Size of the k-th frame of the run: pattern[k % total weight].
  std::size_t at(std::uint64_t k) const { return entries_[pattern_[k % pattern_.size()]].size; }
  std::size_t period() const { return pattern_.size(); }
  std::string to_string() const; // "64:7,570:4,1518:1"

private:
  std::vector<ImixEntry> entries_;
  std::vector<std::uint16_t> pattern_; // entry index per slot, smooth weighted round robin
};

} // namespace droplab::gen
