#include "droplab/counters/snapshot.hpp"

#include <stdexcept>
#include <utility>

namespace droplab::counters {

namespace {

template <typename Map> const Counter *find_in(const Map &m, const std::string &key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

Counter unavailable(const Counter &like, std::string reason) {
  Counter out = like;
  out.value = std::nullopt;
  out.unavailable_reason = std::move(reason);
  return out;
}

// after - before, or nullopt for a decrease that cannot be a wrap.
std::optional<std::uint64_t> subtract(std::uint64_t before, std::uint64_t after, unsigned bits) {
  if (after >= before) return after - before;
  if (bits == 0 || bits >= 64) return std::nullopt;
  std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  if (before > mask || after > mask) return std::nullopt; // not really a `bits`-bit value
  return (after - before) & mask;
}

// The delta of a sum_of counter from the deltas of its parts (already computed).
Counter sum_parts(const Counter &like, const std::map<std::string, Counter> &deltas) {
  std::uint64_t total = 0;
  for (const std::string &part : like.sum_of) {
    auto it = deltas.find(part);
    if (it == deltas.end()) return unavailable(like, "part " + part + " is missing");
    if (!it->second.available())
      return unavailable(like, "part " + part + ": " + it->second.unavailable_reason);
    total += *it->second.value;
  }
  Counter out = like;
  out.value = total;
  return out;
}

Counter diff_one(const Counter *b, const Counter *a) {
  if (!b) return unavailable(*a, "missing from the before snapshot");
  if (!a) return unavailable(*b, "missing from the after snapshot");
  if (!b->available() && !a->available()) {
    // Usually the same reason twice (file absent on this kernel): say it once.
    if (b->unavailable_reason == a->unavailable_reason)
      return unavailable(*a, a->unavailable_reason);
    return unavailable(*a,
                       "before: " + b->unavailable_reason + "; after: " + a->unavailable_reason);
  }
  if (!b->available()) return unavailable(*a, "before: " + b->unavailable_reason);
  if (!a->available()) return unavailable(*a, "after: " + a->unavailable_reason);

  Counter out = *a;
  if (a->kind == Kind::Gauge) return out; // the level at the end of the interval
  // A sum's own difference may even be negative across a part's wrap; diff() replaces
  // it with the sum of the parts' deltas once those are known.
  if (!a->sum_of.empty()) return out;
  auto d = subtract(*b->value, *a->value, a->wrap_bits);
  if (!d) return unavailable(*a, "counter went backwards");
  out.value = *d;
  return out;
}

} // namespace

std::optional<std::uint64_t> Snapshot::get(const std::string &key) const {
  const Counter *c = find(key);
  return c ? c->value : std::nullopt;
}

const Counter *Snapshot::find(const std::string &key) const {
  return find_in(counters, key);
}

Counter &Snapshot::add(std::string key, std::string source, std::uint64_t value, Kind kind) {
  Counter c;
  c.key = key;
  c.source = std::move(source);
  c.value = value;
  c.kind = kind;
  return counters.insert_or_assign(std::move(key), std::move(c)).first->second;
}

Counter &Snapshot::add_unavailable(std::string key, std::string source, std::string reason,
                                   Kind kind) {
  // An empty reason would make an unreadable counter indistinguishable from a bug.
  if (reason.empty()) throw std::invalid_argument("add_unavailable(" + key + "): empty reason");
  Counter c;
  c.key = key;
  c.source = std::move(source);
  c.unavailable_reason = std::move(reason);
  c.kind = kind;
  return counters.insert_or_assign(std::move(key), std::move(c)).first->second;
}

std::optional<std::uint64_t> Delta::get(const std::string &key) const {
  const Counter *c = find(key);
  return c ? c->value : std::nullopt;
}

const Counter *Delta::find(const std::string &key) const {
  return find_in(counters, key);
}

Delta diff(const Snapshot &before, const Snapshot &after) {
  Delta d{.from_mono_ns = before.taken_mono_ns, .to_mono_ns = after.taken_mono_ns, .counters = {}};
  for (const auto &[key, b] : before.counters)
    d.counters.emplace(key, diff_one(&b, after.find(key)));
  for (const auto &[key, a] : after.counters)
    if (!before.find(key)) d.counters.emplace(key, diff_one(nullptr, &a));
  // Sums last, from their parts' deltas; a sum whose own snapshots were unavailable
  // stays unavailable with that reason.
  for (auto &[key, c] : d.counters)
    if (c.available() && c.kind == Kind::Counter && !c.sum_of.empty()) c = sum_parts(c, d.counters);
  return d;
}

} // namespace droplab::counters
