#include "timeline.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace droplab::harness {

Timeline build_timeline(const std::vector<counters::Snapshot>& samples, const LabFacts& facts,
                        const DropReasons* reasons) {
  Timeline t;
  if (samples.size() < 2) return t;
  const std::uint64_t t0 = samples.front().taken_mono_ns;
  // Attribute cumulatively (first sample -> sample i) and difference the
  // results: collectors read at slightly different instants, and per-interval
  // attribution would turn that skew into spikes that cancel out in the next
  // interval (e.g. a veth backlog drop seen in tx_dropped before softnet).
  std::map<std::string, std::uint64_t> prev;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    Waterfall w = build_waterfall(counters::diff(samples.front(), samples[i]), RunOutcome{}, {}, facts, reasons);
    TimelinePoint p;
    p.t_s = static_cast<double>(samples[i].taken_mono_ns - t0) / 1e9;
    for (const auto& s : w.stages) {
      std::uint64_t before = prev[s.name];
      p.dropped[s.name] = s.dropped > before ? s.dropped - before : 0;
      prev[s.name] = std::max(before, s.dropped);
    }
    t.points.push_back(std::move(p));
  }
  return t;
}

std::string render_timeline(const Timeline& t) {
  if (t.points.empty()) return {};
  static constexpr std::array<const char*, 8> bars{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::map<std::string, std::uint64_t> totals;
  for (const auto& p : t.points) {
    for (const auto& [stage, n] : p.dropped) totals[stage] += n;
  }
  // At most 60 columns: neighbouring intervals are summed.
  const std::size_t per_col = (t.points.size() + 59) / 60;
  std::string out;
  for (const auto& [stage, total] : totals) {
    if (total == 0) continue;
    std::vector<std::uint64_t> cols;
    std::uint64_t peak = 0;
    double peak_t = 0;
    for (std::size_t i = 0; i < t.points.size(); ++i) {
      std::uint64_t v = t.points[i].dropped.at(stage);
      if (i % per_col == 0) cols.push_back(0);
      cols.back() += v;
      if (v > peak) {
        peak = v;
        peak_t = t.points[i].t_s;
      }
    }
    std::uint64_t col_max = *std::max_element(cols.begin(), cols.end());
    std::string line;
    for (auto v : cols) {
      if (v == 0) {
        line += " ";
      } else {
        line += bars[std::min<std::size_t>(7, static_cast<std::size_t>(v * 8 / (col_max + 1)))];
      }
    }
    out += fmt::format("  {:<10} |{}| peak {} in one interval at {:.1f} s\n", stage, line, format_count(peak), peak_t);
  }
  if (out.empty()) return {};
  double span = t.points.back().t_s;
  return fmt::format("drops over time ({} intervals over {:.1f} s, {} per column):\n{}", t.points.size(), span,
                     per_col == 1 ? "one interval" : fmt::format("{} intervals", per_col), out);
}

void to_json(nlohmann::json& j, const Timeline& t) {
  j = nlohmann::json::array();
  for (const auto& p : t.points) j.push_back({{"t_s", p.t_s}, {"dropped", p.dropped}});
}

} // namespace droplab::harness
