// `droplab counters`: a live view, per stage of the receive path, of the
// non-zero deltas of every counter droplab knows — on any host, without a
// lab. The first thing to run on a production box that loses packets.
#pragma once

#include <cstdint>
#include <string>

namespace droplab::harness {

struct CountersOptions {
  std::string netns;                       // "" = our own namespace
  std::uint64_t interval_ns = 1'000'000'000;
  std::uint64_t count = 0;                 // intervals to show; 0 = until Ctrl-C
  bool json_stream = false;                // one JSON object per line per interval
};

int counters_command(const CountersOptions& opt);

// The stage a counter key belongs to ("socket", "backlog", …), "traffic" for
// throughput counters shown for context, or "" for counters not shown.
std::string stage_of_counter(const std::string& key);

} // namespace droplab::harness
