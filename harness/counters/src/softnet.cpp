#include "droplab/counters/softnet.hpp"

#include "parse_util.hpp"

#include <limits>
#include <string>

namespace droplab::counters {

namespace {

bool known_layout(std::size_t n) {
  return n == 10 || n == 11 || n == 13 || n >= 15;
}

} // namespace

std::vector<SoftnetRow> parse_softnet_stat(std::string_view text, std::string_view origin) {
  std::vector<SoftnetRow> rows;
  std::size_t first_columns = 0;
  std::size_t lineno = 0;
  for (std::string_view line : detail::split_lines(text)) {
    ++lineno;
    auto tok = detail::split_ws(line);
    if (tok.empty()) continue;
    if (!known_layout(tok.size()))
      throw ParseError(std::string(origin), lineno,
                       std::to_string(tok.size()) +
                           " columns; no kernel prints that (expected 10, 11, 13 or 15)");
    if (first_columns == 0) first_columns = tok.size();
    if (tok.size() != first_columns)
      throw ParseError(std::string(origin), lineno,
                       std::to_string(tok.size()) + " columns, but line 1 has " +
                           std::to_string(first_columns));

    // col is 1-based, as in the kernel's format string and receive-path.md.
    auto col = [&](std::size_t c) -> std::optional<std::uint32_t> {
      if (c > tok.size()) return std::nullopt;
      std::uint64_t v =
          detail::parse_hex(tok[c - 1], origin, lineno, "column " + std::to_string(c));
      if (v > std::numeric_limits<std::uint32_t>::max())
        throw ParseError(std::string(origin), lineno,
                         "column " + std::to_string(c) + " does not fit 32 bits");
      return static_cast<std::uint32_t>(v);
    };
    // Validate every column, including the always-zero ones, so garbage is caught.
    for (std::size_t c = 1; c <= tok.size(); ++c)
      col(c);

    SoftnetRow r;
    r.columns = tok.size();
    r.processed = col(1);
    r.dropped = col(2);
    r.time_squeeze = col(3);
    r.received_rps = col(10);
    r.flow_limit_count = col(11);
    r.backlog_len = col(12);
    r.input_qlen = col(14);
    r.process_qlen = col(15);
    if (auto id = col(13)) {
      r.cpu = *id;
      r.cpu_from_column = true;
    } else {
      r.cpu = static_cast<unsigned>(rows.size());
    }
    rows.push_back(r);
  }
  return rows;
}

} // namespace droplab::counters
