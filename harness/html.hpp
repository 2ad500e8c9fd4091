// `--html FILE`: one self-contained page for a run report, a compare result or
// a sweep result. The document is embedded as JSON and drawn by a small
// vanilla script in the page (inline SVG charts, tables); nothing is fetched,
// so the file opens offline and can be attached to a ticket as it is.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace droplab::harness {

// One self-contained HTML page (opens offline: no external scripts, fonts, images or
// network access) for a run report, a compare result or a sweep result; `doc["kind"]`
// is "compare" or "sweep", otherwise it is a run report. Strings in `doc` are shown as
// text, never parsed as markup; invalid UTF-8 in them is replaced, not an error.
std::string render_html(const nlohmann::json& doc);

// render_html() written to `path` through a temporary file and a rename, so a
// reader never sees half a page. Throws std::runtime_error naming the path.
void write_html_file(const std::string& path, const nlohmann::json& doc);

} // namespace droplab::harness
