// The one error type of the /proc parsers: malformed text, naming where it came from.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace droplab::counters {

class ParseError : public std::runtime_error {
public:
  // `origin` names the text (a path, or a path plus namespace); `line` is 1-based,
  // 0 when the problem is not on one line. what() is "origin:line: message".
  ParseError(std::string origin, std::size_t line, const std::string &message);

  const std::string &origin() const noexcept { return origin_; }
  std::size_t line() const noexcept { return line_; }

private:
  std::string origin_;
  std::size_t line_;
};

} // namespace droplab::counters
