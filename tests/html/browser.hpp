// Loading an HTML report in headless Chromium and judging what came back:
// the serialized DOM (--dump-dom), the console (Chromium's log on stderr)
// and a screenshot.
#pragma once

#include "temp_dir.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace droplab::html_test {

inline constexpr const char* kChromium = "/usr/bin/chromium";

using droplab::test::TempDir;

struct BrowserResult {
  int exit_code = -1; // -1: killed by a signal (or by us, at the timeout)
  bool timed_out = false;
  std::string out; // stdout: the DOM, with --dump-dom
  std::string err; // stderr: Chromium's log, console messages included
};

// Runs headless Chromium on file://`html_path` with `args` after the fixed
// flags, in a fresh profile under `work_dir`. Chromium and its helpers run in
// their own process group, which is killed whole once Chromium exits or
// `timeout` passes, so no browser process outlives the call.
BrowserResult run_chromium(const std::string& html_path, const std::vector<std::string>& args,
                           const std::string& work_dir,
                           std::chrono::seconds timeout = std::chrono::seconds(60));

// Console messages in Chromium's log. Chromium 156 logs every console
// message as "INFO:CONSOLE:<line>] "<text>", source: ..." whatever its level,
// so errors cannot be told from logs: the report page writes nothing to the
// console, and every console line is a problem (uncaught errors and
// rejections, CSP violations, a stray console.log).
std::vector<std::string> console_problems(const std::string& log);

// What is wrong with a dumped report page: the renderer did not mark
// body[data-rendered="ok"], or #droplab-errors is not empty.
std::vector<std::string> dom_problems(const std::string& dom);

// The serialized <svg ...>...</svg> element whose id is `id`, or "".
std::string svg_with_id(const std::string& dom, const std::string& id);
// The text of the element whose id is `id`, tags removed, or "".
std::string text_with_id(const std::string& dom, const std::string& id);
std::size_t count(const std::string& haystack, const std::string& needle);

} // namespace droplab::html_test
