// One error convention for every main(): usage errors exit 2, anything else
// that stops a run exits 1, each with one clear line on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>

namespace droplab {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Parses argv with CLI11, adding --version (the CMake project version).
// Returns -1 to go on, otherwise the exit code (0 after --help or
// --version, 2 after a parse error, which it prints).
int parse_cli(CLI::App& app, int argc, char** argv);

// Runs `body`, mapping exceptions to exit codes and one stderr line
// prefixed with `prog`.
int guarded_main(const char* prog, const std::function<int()>& body);

} // namespace droplab
