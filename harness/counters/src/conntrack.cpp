#include "droplab/counters/conntrack.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "parse_util.hpp"

#include <cerrno>
#include <limits>
#include <utility>

namespace droplab::counters {

namespace {

// The keys a stage attribution looks up: present, if only as unavailable, always.
constexpr const char* kExpected[] = {"drop", "early_drop", "insert_failed", "invalid"};

} // namespace

ConntrackStat parse_nf_conntrack_stat(std::string_view text, std::string_view origin) {
  auto lines = detail::split_lines(text);
  if (lines.empty() || detail::trim(lines[0]).empty())
    throw ParseError(std::string(origin), 1, "no header line");
  ConntrackStat st;
  for (auto tok : detail::split_ws(lines[0]))
    st.names.emplace_back(tok);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto toks = detail::split_ws(lines[i]);
    if (toks.empty()) continue;
    if (toks.size() != st.names.size())
      throw ParseError(std::string(origin), i + 1,
                       std::to_string(toks.size()) + " values for " +
                           std::to_string(st.names.size()) + " header names");
    std::vector<std::uint32_t> row;
    for (std::size_t c = 0; c < toks.size(); ++c) {
      std::uint64_t v = detail::parse_hex(toks[c], origin, i + 1, st.names[c]);
      if (v > std::numeric_limits<std::uint32_t>::max())
        throw ParseError(std::string(origin), i + 1, st.names[c] + ": more than 32 bits");
      row.push_back(static_cast<std::uint32_t>(v));
    }
    st.rows.push_back(std::move(row));
  }
  return st;
}

void add_conntrack_counters(Snapshot& out, const std::string& role, const ConntrackStat& stat,
                            const std::string& source) {
  const std::string prefix = role + ".conntrack.";
  for (std::size_t c = 0; c < stat.names.size(); ++c) {
    const std::string& name = stat.names[c];
    if (name == "entries") {
      // seq_printf(..., nf_conntrack_count(net), ...) on every row: a level, not per CPU.
      if (stat.rows.empty())
        out.add_unavailable(prefix + name, source, "no CPU rows", Kind::Gauge);
      else
        out.add(prefix + name, source, stat.rows[0][c], Kind::Gauge);
      continue;
    }
    std::vector<std::string> parts;
    std::uint64_t sum = 0;
    for (std::size_t r = 0; r < stat.rows.size(); ++r) {
      // Rows are the possible CPUs in order; the file has no CPU id column.
      std::string key = prefix + "cpu" + std::to_string(r) + "." + name;
      out.add(key, source, stat.rows[r][c]).wrap_bits = 32;
      sum += stat.rows[r][c];
      parts.push_back(std::move(key));
    }
    if (parts.empty())
      out.add_unavailable(prefix + name, source, "no CPU rows");
    else
      out.add(prefix + name, source + " (sum over CPUs)", sum).sum_of = std::move(parts);
  }
  for (const char* name : kExpected)
    if (!out.find(prefix + name))
      out.add_unavailable(prefix + name, source,
                          "this kernel's file has no column " + std::string(name));
}

ConntrackStatCollector::ConntrackStatCollector(std::string role, std::string netns)
    : role_(std::move(role)), netns_(std::move(netns)) {}

std::string ConntrackStatCollector::name() const {
  return "conntrack(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ")";
}

void ConntrackStatCollector::collect(Snapshot& out) {
  const std::string origin = proc_net_origin(netns_, "stat/nf_conntrack");
  const std::string count_origin =
      "/proc/sys/net/netfilter/nf_conntrack_count " +
      std::string(netns_.empty() ? "in the caller's netns" : "in netns " + netns_);
  FileRead stat, count;
  in_netns(netns_, [&] {
    stat = try_read_file("/proc/thread-self/net/stat/nf_conntrack");
    // /proc/sys/net follows the namespace of the reading thread.
    count = try_read_file("/proc/sys/net/netfilter/nf_conntrack_count");
  });

  const std::string prefix = role_ + ".conntrack.";
  std::string reason;
  if (!stat.text) {
    reason = stat.err == ENOENT ? stat.error + " (nf_conntrack not loaded)" : stat.error;
  } else {
    try {
      add_conntrack_counters(out, role_, parse_nf_conntrack_stat(*stat.text, origin), origin);
    } catch (const ParseError& e) {
      reason = e.what();
    }
  }
  if (!reason.empty())
    for (const char* name : kExpected)
      out.add_unavailable(prefix + name, origin, reason);

  if (!count.text) {
    out.add_unavailable(prefix + "count", count_origin,
                        count.err == ENOENT ? count.error + " (nf_conntrack not loaded)"
                                            : count.error,
                        Kind::Gauge);
    return;
  }
  try {
    auto lines = detail::split_lines(*count.text);
    auto toks = detail::split_ws(lines.empty() ? std::string_view() : lines[0]);
    if (lines.size() != 1 || toks.size() != 1)
      throw ParseError(count_origin, 1, "expected one number");
    out.add(prefix + "count", count_origin,
            detail::parse_dec(toks[0], count_origin, 1, "nf_conntrack_count"), Kind::Gauge);
  } catch (const ParseError& e) {
    out.add_unavailable(prefix + "count", count_origin, e.what(), Kind::Gauge);
  }
}

} // namespace droplab::counters
