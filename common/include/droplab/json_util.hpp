#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace droplab {

// Writes `j` (pretty, trailing newline) to `path` through a temporary file and
// rename, so a reader never sees half a report. Throws std::system_error.
void write_json_file(const std::string& path, const nlohmann::json& j);

// Reads and parses a JSON file. Throws std::runtime_error naming the file and,
// for a syntax error, the byte offset.
nlohmann::json read_json_file(const std::string& path);

// Kernel release (uname -r) and online CPU count, for report context blocks.
std::string kernel_release();
unsigned online_cpus();

} // namespace droplab
