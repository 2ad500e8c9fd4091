// Command-line flags of droplab-sink. Every value is taken as a string and
// parsed with droplab's unit parsers, so an error names the flag, the value
// and the allowed range; main.cpp only wires these into CLI11.
#pragma once

#include "droplab/sink/config.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace droplab::sink {

// The flags as typed; empty string = not given.
struct Options {
  std::string listen;
  std::string rcvbuf;
  std::string rcvbuf_force;
  std::string read_rate;
  std::string stall;
  std::string batch;
  std::string work;
  std::string hang_after;
  std::string threads;
  std::string cpus;
  std::string duration;
  std::string backend = "auto";
  std::string ready_file;
  std::string json_file;
  bool quiet = false;
  bool json_stream = false;
  bool gro = false;
};

// Registers the flags (with help text, defaults and examples) on `app`.
void add_options(CLI::App& app, Options& opts);

// Validates and converts. Throws UsageError naming the flag, value and range.
Config to_config(const Options& opts);

// "0,2-3" -> {0, 2, 3}: each CPU must be below `online` (the online CPU
// count). Throws UsageError (message starts with "--cpus VALUE:").
std::vector<unsigned> parse_cpu_list(std::string_view text, unsigned online);

// "--work": a duration ("500ns", "2us") or a bare number of nanoseconds.
std::uint64_t parse_work_ns(std::string_view text);

// "DUR/EVERY" -> Stall. Throws UsageError (message starts with "--stall VALUE:").
Stall parse_stall(std::string_view text);

} // namespace droplab::sink
