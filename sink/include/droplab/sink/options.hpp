// Command-line flags of droplab-sink. Every value is taken as a string and
// parsed with droplab's unit parsers, so an error names the flag, the value
// and the allowed range; main.cpp only wires these into CLI11.
#pragma once

#include "droplab/sink/config.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace droplab::sink {

// The flags as typed; empty string = not given.
struct Options {
  std::string listen;
  std::string rcvbuf;
  std::string read_rate;
  std::string stall;
  std::string batch;
  std::string duration;
  std::string backend = "auto";
  std::string ready_file;
  std::string json_file;
  bool quiet = false;
};

// Registers the flags (with help text, defaults and examples) on `app`.
void add_options(CLI::App &app, Options &opts);

// Validates and converts. Throws UsageError naming the flag, value and range.
Config to_config(const Options &opts);

// "DUR/EVERY" -> Stall. Throws UsageError (message starts with "--stall VALUE:").
Stall parse_stall(std::string_view text);

} // namespace droplab::sink
