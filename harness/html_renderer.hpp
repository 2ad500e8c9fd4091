// The script embedded in every HTML report page (html_renderer.cpp). Private
// to html.cpp; split out only to keep the C++ and the JavaScript apart.
#pragma once

#include <string_view>

namespace droplab::harness {

// Reads the JSON in #droplab-data, draws it into #droplab-main, then sets
// body[data-rendered] to "ok" (unless an error handler already set "error").
extern const std::string_view kHtmlRendererScript;

} // namespace droplab::harness
