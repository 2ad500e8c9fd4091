#include "gen/shape.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <cmath>

namespace droplab::gen {

std::string ShapeSpec::to_string() const {
  switch (kind) {
  case ShapeKind::Constant: return "constant";
  case ShapeKind::Burst: return fmt::format("burst:{}", burst);
  case ShapeKind::OnOff:
    return fmt::format("onoff:{}/{}", format_duration(on_ns), format_duration(off_ns));
  case ShapeKind::Poisson: return "poisson";
  }
  return "?";
}

ShapeSpec parse_pattern(std::string_view text) {
  ShapeSpec s;
  if (text == "poisson") {
    s.kind = ShapeKind::Poisson;
    return s;
  }
  if (text == "constant") return s;
  constexpr std::string_view kOnOff = "onoff:";
  const auto slash = text.find('/');
  if (text.substr(0, kOnOff.size()) != kOnOff || slash == std::string_view::npos) {
    throw UnitError(fmt::format("\"{}\" is not a pattern (use constant, poisson or onoff:ON/OFF "
                                "with durations, e.g. onoff:1ms/9ms)",
                                text));
  }
  s.kind = ShapeKind::OnOff;
  const auto on = text.substr(kOnOff.size(), slash - kOnOff.size());
  const auto off = text.substr(slash + 1);
  s.on_ns = parse_duration_ns(on);
  s.off_ns = parse_duration_ns(off);
  if (s.on_ns == 0)
    throw UnitError(fmt::format("\"{}\": the ON time must be greater than 0", text));
  return s;
}

Departures::Departures(const ShapeSpec& spec, double rate_pps)
    : spec_(spec), rate_(rate_pps), rng_(spec.seed) {
  next_ = at(0);
}

std::uint64_t Departures::at(std::uint64_t i) const {
  const long double per_ns = static_cast<long double>(rate_) / 1e9L;
  switch (spec_.kind) {
  case ShapeKind::Constant:
  case ShapeKind::Poisson: // packet 0 leaves at once; later ones come from pop()
    return static_cast<std::uint64_t>(std::ceil(static_cast<long double>(i) / per_ns));
  case ShapeKind::Burst: {
    const std::uint64_t first_of_burst = i / spec_.burst * spec_.burst;
    return static_cast<std::uint64_t>(std::ceil(static_cast<long double>(first_of_burst) / per_ns));
  }
  case ShapeKind::OnOff: {
    // Packets spaced at the peak rate in "on time", which maps onto the wall
    // clock by skipping an OFF window after every ON window.
    const long double on = static_cast<long double>(spec_.on_ns);
    const long double period = on + static_cast<long double>(spec_.off_ns);
    const long double peak_per_ns = per_ns * period / on;
    const long double u = static_cast<long double>(i) / peak_per_ns;
    const long double windows = std::floor(u / on);
    return static_cast<std::uint64_t>(std::ceil(windows * period + (u - windows * on)));
  }
  }
  return 0;
}

void Departures::pop() {
  ++index_;
  if (spec_.kind != ShapeKind::Poisson) {
    next_ = at(index_);
    return;
  }
  // Inverse transform of a uniform in (0, 1]: exact mean 1/rate, reproducible
  // for a seed (std::exponential_distribution's algorithm is unspecified).
  const long double u =
      (static_cast<long double>(rng_() >> 11) + 1.0L) / 9007199254740992.0L; // 2^53
  poisson_t_ += -std::log(u) * 1e9L / static_cast<long double>(rate_);
  next_ = static_cast<std::uint64_t>(std::ceil(poisson_t_));
}

std::vector<std::uint64_t> first_departures(const ShapeSpec& spec, double rate_pps, std::size_t n) {
  Departures d(spec, rate_pps);
  std::vector<std::uint64_t> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i, d.pop())
    out.push_back(d.peek());
  return out;
}

ShapePacer::ShapePacer(const ShapeSpec& spec, double rate_pps, std::uint64_t start_ns)
    : paced_(rate_pps > 0), start_(start_ns), dep_(spec, paced_ ? rate_pps : 1.0) {}

void ShapePacer::fill(std::size_t n) {
  while (pending_.size() < n) {
    pending_.push_back(dep_.peek());
    dep_.pop();
  }
}

std::uint64_t ShapePacer::due(std::uint64_t now_ns, std::uint64_t cap) {
  if (!paced_) return cap;
  if (now_ns < start_) return 0;
  const std::uint64_t elapsed = now_ns - start_;
  std::uint64_t k = 0;
  while (k < cap) {
    fill(static_cast<std::size_t>(k) + 1);
    if (pending_[k] > elapsed) break;
    ++k;
  }
  return k;
}

void ShapePacer::consume(std::uint64_t n) {
  consumed_ += n;
  if (!paced_) return;
  fill(static_cast<std::size_t>(n));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
}

std::uint64_t ShapePacer::next_due_ns() {
  if (!paced_) return start_;
  fill(1);
  return start_ + pending_.front();
}

} // namespace droplab::gen
