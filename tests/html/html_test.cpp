// The page as text: self-contained, the document embedded intact, report
// strings unable to end the data element; and the browser checks' own
// judgement on known-good and known-bad input.
#include "browser.hpp"
#include "html.hpp"

#include "droplab/json_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using droplab::harness::render_html;
using droplab::harness::write_html_file;
using nlohmann::json;
namespace fs = std::filesystem;
namespace ht = droplab::html_test;

namespace {

json fixture(const std::string& name) {
  return droplab::read_json_file(std::string(DROPLAB_TEST_DATA) + "/" + name);
}

const std::vector<std::string>& fixtures() {
  static const std::vector<std::string> names{"report.socket-rcvbuf.json", "compare.sample.json",
                                              "sweep.sample.json", "sweep-throughput.sample.json"};
  return names;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The data element's text as an HTML parser sees it: up to the first
// "</script", in any case.
std::string embedded_json(const std::string& page) {
  const std::string open = R"(<script type="application/json" id="droplab-data">)";
  auto begin = page.find(open);
  if (begin == std::string::npos) return {};
  begin += open.size();
  auto end = lower(page).find("</script", begin);
  return page.substr(begin, end - begin);
}

json run_with_description(const std::string& description) {
  json doc = fixture("report.socket-rcvbuf.json");
  doc["context"]["profile"]["description"] = description;
  return doc;
}

} // namespace

TEST(HtmlPage, FetchesNothing) {
  for (const auto& name : fixtures()) {
    SCOPED_TRACE(name);
    std::string page = render_html(fixture(name));
    EXPECT_EQ(page.find("http://"), std::string::npos);
    EXPECT_EQ(page.find("https://"), std::string::npos);
    // Every src=/href= may only point into the page itself.
    static const std::regex ref(R"re(\b(?:src|href)\s*=\s*["']?([^"'\s>]*))re", std::regex::icase);
    for (auto it = std::sregex_iterator(page.begin(), page.end(), ref);
         it != std::sregex_iterator(); ++it) {
      std::string target = (*it)[1];
      EXPECT_TRUE(target.starts_with("#") || target.starts_with("data:"))
          << "reference to " << target;
    }
    for (const char* fetches :
         {"<link", "<img", "<iframe", "@import", "url(", "fetch(", "XMLHttpRequest"}) {
      EXPECT_EQ(lower(page).find(lower(fetches)), std::string::npos) << fetches;
    }
    EXPECT_NE(page.find("default-src 'none'"), std::string::npos)
        << "the CSP that forbids fetching";
  }
}

TEST(HtmlPage, EmbeddedDocumentRoundTrips) {
  for (const auto& name : fixtures()) {
    SCOPED_TRACE(name);
    json doc = fixture(name);
    EXPECT_EQ(json::parse(embedded_json(render_html(doc))), doc);
  }
  json odd = {
      {"kind", "sweep"},
      {"s", "quotes \" ' and \\ backslash, & < > <!-- --> \u00b5s \u2028 line separator, tab\t"},
      {"n", {1, -2, 3.5, nullptr, true}}};
  EXPECT_EQ(json::parse(embedded_json(render_html(odd))), odd);
}

TEST(HtmlPage, ReportStringsCannotEndTheDataElement) {
  const std::string attack = "</script><script>alert(1)</script></SCRIPT ><!--<script>";
  json doc = run_with_description(attack);
  doc["stages"][0]["evidence"][0]["note"] = attack;
  std::string page = render_html(doc);
  std::string json_text = embedded_json(page);
  EXPECT_EQ(json::parse(json_text), doc);
  EXPECT_EQ(json_text.find('<'), std::string::npos);
  // The page's own three script elements (error handlers, data, renderer) and no more.
  EXPECT_EQ(ht::count(lower(page), "</script"), 3u);
  EXPECT_EQ(ht::count(lower(page), "<script"), 3u);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page.find("<!--"), std::string::npos);
}

TEST(HtmlPage, InvalidUtf8IsReplacedNotAnError) {
  json doc = run_with_description(std::string("bad \xff\xfe bytes"));
  std::string page;
  ASSERT_NO_THROW(page = render_html(doc));
  json back = json::parse(embedded_json(page));
  EXPECT_EQ(back["context"]["profile"]["description"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST(HtmlPage, WriteHtmlFileWritesThePageAndNamesThePathOnFailure) {
  ht::TempDir dir;
  json doc = fixture("sweep.sample.json");
  std::string path = dir.path() + "/report.html";
  write_html_file(path, doc);
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), render_html(doc));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  std::string missing = dir.path() + "/no-such-dir/report.html";
  try {
    write_html_file(missing, doc);
    ADD_FAILURE() << "no exception for " << missing;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

// The checks the browser tests rely on, on captured Chromium 156 output.
TEST(ChromiumChecks, ConsoleLinesAreProblemsOtherLogLinesAreNot) {
  const std::string log =
      "[32456:32485:1124/083130.736530:ERROR:dbus/bus.cc:405] Failed to connect to the bus: Failed "
      "to "
      "connect to socket /run/dbus/system_bus_socket: No such file or directory\n"
      "[32498:32498:1124/083130.754518:WARNING:media/gpu/vaapi/vaapi_wrapper.cc:1655] "
      "drmGetDevices2() has "
      "not found any devices\n";
  EXPECT_TRUE(ht::console_problems(log).empty());
  const std::string uncaught =
      "[32456:32456:1124/083131.075265:INFO:CONSOLE:1] \"Uncaught ReferenceError: "
      "undefinedFn is not defined\", source: file:///tmp/t.html (1)";
  const std::string logged =
      "[32456:32456:1124/083131.072851:INFO:CONSOLE:1] \"my console error\", source: "
      "file:///tmp/t.html (1)";
  EXPECT_EQ(ht::console_problems(log + uncaught + "\n" + logged + "\n"),
            (std::vector<std::string>{uncaught, logged}));
}

TEST(ChromiumChecks, OnlyAFinishedPageWithoutErrorsPasses) {
  const std::string errors_empty = R"(<pre id="droplab-errors" role="alert"></pre>)";
  EXPECT_TRUE(ht::dom_problems(R"(<html><body data-rendered="ok">)" + errors_empty).empty());
  EXPECT_EQ(ht::dom_problems("<html><body>" + errors_empty).size(), 1u); // never finished
  EXPECT_EQ(ht::dom_problems(R"(<html><body data-rendered="error">)" + errors_empty).size(), 1u);
  EXPECT_EQ(ht::dom_problems(
                R"(<html><body data-rendered="ok"><pre id="droplab-errors" role="alert">x</pre>)")
                .size(),
            1u);
  EXPECT_EQ(ht::dom_problems(R"(<html><body data-rendered="ok">)").size(), 1u); // no error element
}
