#include "html.hpp"

#include "html_renderer.hpp"

#include "droplab/json_util.hpp"

#include <string_view>

namespace droplab::harness {
namespace {

// Everything before the embedded JSON. The Content-Security-Policy makes the
// "offline" promise hold in the browser too: nothing may be fetched, only the
// page's own inline script and style run. The error handlers come first so a
// failure anywhere later (the renderer included) is shown in #droplab-errors
// and marks the page body[data-rendered="error"], which the tests check.
constexpr std::string_view kPageHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>droplab report</title>
<style>
:root { --fg: #1d2430; --muted: #5f6b7a; --line: #d8dde4; --good: #2e7d32; --bad: #c62828; --drop: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f5f8; color: var(--fg);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 20px 40px; }
h1 { font-size: 26px; margin: 12px 0 4px; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
h4 { font-size: 15px; margin: 14px 0 4px; }
.lead { font-size: 16px; max-width: 980px; margin: 4px 0; }
.meta, .muted, footer { color: var(--muted); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; margin: 16px 0; }
.identity { font-size: 24px; font-variant-numeric: tabular-nums; }
.verdict { font-size: 34px; font-weight: 700; }
.verdict.result { text-transform: uppercase; letter-spacing: .02em; }
.sub { color: var(--muted); font-size: 12.5px; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--muted); }
.verdict-line { font-size: 18px; margin: 6px 0; }
.good { color: var(--good); }
.bad { color: var(--bad); }
.drop { color: var(--drop); }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.wrap { text-align: left; white-space: normal; }
.nowrap { white-space: nowrap; }
tr.drop-row td { background: #fdecea; }
tr.warn-row td, tr.knee-row td { background: #fff8e1; }
.hint { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; margin: 6px 0; }
.knobs, .notes, .arms { margin: 4px 0; padding-left: 22px; }
.arms { list-style: none; padding-left: 0; margin: 8px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 6px 0 10px; font-size: 13.5px; }
.legend i, .arms i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.panels { display: flex; flex-wrap: wrap; gap: 10px; }
.panel { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 6px; }
.panel figcaption { font-size: 13.5px; text-align: center; }
svg.chart { display: block; max-width: 100%; height: auto; overflow: visible; }
svg text { font-size: 12px; fill: var(--fg); font-variant-numeric: tabular-nums; }
svg text.muted { fill: var(--muted); }
svg tspan.drop { fill: var(--drop); font-weight: 600; }
svg tspan.muted { fill: var(--muted); }
svg text.stage-name { font-weight: 600; }
svg text.axis-title { fill: var(--muted); font-size: 12.5px; }
svg text.value { font-weight: 600; }
svg .grid { stroke: #e6e9ee; }
svg .axis { stroke: #8a94a3; }
svg .series-line { fill: none; stroke-width: 2; }
svg .series-area { fill-opacity: .15; stroke: none; }
svg .ci-bar { stroke: #263238; stroke-width: 1.5; fill: none; }
svg .knee, svg .max-rate { stroke: #6a1b9a; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg text.knee-label, svg text.max-label { fill: #6a1b9a; font-weight: 600; }
#droplab-errors { margin: 0; padding: 10px 20px; background: var(--bad); color: #fff; white-space: pre-wrap; font-size: 14px; }
#droplab-errors:empty { display: none; }
</style>
</head>
<body>
<pre id="droplab-errors" role="alert"></pre>
<script>
window.droplabError = function (text) {
  document.body.dataset.rendered = 'error';
  document.getElementById('droplab-errors').textContent += text + '\n';
};
window.onerror = function (message, source, line, column, error) {
  window.droplabError('error: ' + ((error && error.stack) || message) + (line ? ' (line ' + line + ':' + column + ')' : ''));
};
window.addEventListener('unhandledrejection', function (e) {
  window.droplabError('unhandled rejection: ' + ((e.reason && e.reason.stack) || e.reason));
});
</script>
<svg id="droplab-svg-ns" width="0" height="0" aria-hidden="true"></svg>
<main id="droplab-main"><noscript>This report is drawn by the script in this file: allow JavaScript to see it.
The data is the JSON in the droplab-data element.</noscript></main>
<script type="application/json" id="droplab-data">)html";

constexpr std::string_view kPageScriptOpen = R"html(</script>
<script>)html";

constexpr std::string_view kPageTail = R"html(</script>
</body>
</html>
)html";

// JSON as the text of a <script> element. An HTML parser ends the element at
// the first "</script" and changes state at "<!--", whatever JSON quoting says;
// '<' can only occur inside JSON strings, where \u003c is the same character,
// so writing every '<' that way makes both impossible and JSON.parse returns
// the document unchanged.
std::string script_safe_json(const nlohmann::json& doc) {
  std::string raw = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + raw.size() / 16);
  for (char c : raw) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace

std::string render_html(const nlohmann::json& doc) {
  std::string data = script_safe_json(doc);
  std::string page;
  page.reserve(kPageHead.size() + data.size() + kPageScriptOpen.size() +
               kHtmlRendererScript.size() + kPageTail.size());
  page += kPageHead;
  page += data;
  page += kPageScriptOpen;
  page += kHtmlRendererScript;
  page += kPageTail;
  return page;
}

void write_html_file(const std::string& path, const nlohmann::json& doc) { write_file_atomic(path, render_html(doc)); }

} // namespace droplab::harness
