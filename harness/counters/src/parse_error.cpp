#include "droplab/counters/parse_error.hpp"

#include <utility>

namespace droplab::counters {

ParseError::ParseError(std::string origin, std::size_t line, const std::string &message)
    : std::runtime_error(origin + ":" + std::to_string(line) + ": " + message),
      origin_(std::move(origin)), line_(line) {}

} // namespace droplab::counters
