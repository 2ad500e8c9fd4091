#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace droplab {

// Writes `text` to PATH.tmp, then renames it over `path`: a reader never sees
// half a file. Throws std::system_error naming the file.
void write_file_atomic(const std::string& path, std::string_view text);
// The same for `j`, pretty, with a trailing newline.
void write_json_file(const std::string& path, const nlohmann::json& j);

// Reads and parses a JSON file. Throws std::runtime_error naming the file and,
// for a syntax error, the byte offset.
nlohmann::json read_json_file(const std::string& path);

// Kernel release (uname -r) and online CPU count, for report context blocks.
std::string kernel_release();
unsigned online_cpus();

} // namespace droplab
