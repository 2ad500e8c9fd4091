// The one error type of the drop-reason parsers: malformed text, naming where it came from.
#pragma once

#include <stdexcept>
#include <string>

namespace droplab::dropreason {

class ParseError : public std::runtime_error {
public:
  // what() is "origin: message".
  ParseError(std::string origin, const std::string& message)
      : std::runtime_error(origin + ": " + message), origin_(std::move(origin)) {}
  const std::string& origin() const noexcept { return origin_; }

private:
  std::string origin_;
};

} // namespace droplab::dropreason
