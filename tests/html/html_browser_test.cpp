// Each kind of report page drawn by headless Chromium: it finishes without an
// error, draws the charts the document calls for, and the screenshot shows
// them. Pages broken on purpose prove the checks catch what they claim to.
#include "browser.hpp"
#include "html.hpp"
#include "png.hpp"

#include "droplab/json_util.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using droplab::harness::render_html;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace droplab::html_test;

namespace {

json fixture(const std::string& name) {
  return droplab::read_json_file(std::string(DROPLAB_TEST_DATA) + "/" + name);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += "\n  " + l;
  return out;
}

// Share of a 1200x2400 screenshot a drawn report covers with text and
// charts; a blank page has none (see BlankScreenshotFailsTheInkCheck).
constexpr double kMinInk = 0.03;

class HtmlInChromium : public ::testing::Test {
protected:
  void SetUp() override {
    if (::access(kChromium, X_OK) != 0) {
      GTEST_SKIP() << "chromium not installed (scripts/deps.sh installs it for tests)";
    }
  }

  struct Loaded {
    std::string dom;
    std::vector<std::string> console; // from both runs
    std::vector<std::string> dom_problems;
    std::uintmax_t png_bytes = 0;
    Image shot;
  };

  // Writes the page, dumps its DOM and, if asked, takes a 1200x2400
  // screenshot (kept in $DROPLAB_HTML_SHOTS if set).
  Loaded load(const std::string& html, const std::string& name, bool screenshot) {
    std::string page = dir_.path() + "/" + name + ".html";
    std::ofstream(page, std::ios::binary) << html;
    Loaded l;
    BrowserResult dom =
        run_chromium(page, {"--virtual-time-budget=2000", "--dump-dom"}, dir_.path());
    EXPECT_FALSE(dom.timed_out) << "chromium --dump-dom " << name << " timed out";
    EXPECT_EQ(dom.exit_code, 0) << dom.err;
    l.dom = dom.out;
    l.console = console_problems(dom.err);
    l.dom_problems = dom_problems(dom.out);
    if (!screenshot) return l;
    std::string png = dir_.path() + "/" + name + ".png";
    BrowserResult shot =
        run_chromium(page, {"--window-size=1200,2400", "--screenshot=" + png}, dir_.path());
    EXPECT_FALSE(shot.timed_out) << "chromium --screenshot " << name << " timed out";
    EXPECT_EQ(shot.exit_code, 0) << shot.err;
    for (auto& c : console_problems(shot.err))
      l.console.push_back(c);
    std::error_code ec;
    l.png_bytes = fs::file_size(png, ec);
    try {
      l.shot = read_png(png);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    if (const char* keep = std::getenv("DROPLAB_HTML_SHOTS")) {
      fs::create_directories(keep, ec);
      fs::copy_file(png, fs::path(keep) / (name + ".png"), fs::copy_options::overwrite_existing,
                    ec);
    }
    return l;
  }

  static void expect_clean(const Loaded& l) {
    EXPECT_TRUE(l.dom_problems.empty()) << joined(l.dom_problems);
    EXPECT_TRUE(l.console.empty()) << joined(l.console);
  }

  static void expect_drawn(const Loaded& l) {
    EXPECT_GT(l.png_bytes, 10u * 1024);
    EXPECT_EQ(l.shot.width, 1200u);
    EXPECT_EQ(l.shot.height, 2400u);
    EXPECT_GT(l.shot.ink_fraction(), kMinInk);
  }

  // Inserts `html` just before </body>.
  static std::string with_before_body_end(std::string page, const std::string& html) {
    return page.insert(page.rfind("</body>"), html);
  }

  TempDir dir_;
};

TEST_F(HtmlInChromium, RunReport) {
  json doc = fixture("report.socket-rcvbuf.json");
  Loaded l = load(render_html(doc), "run", true);
  expect_clean(l);
  expect_drawn(l);
  EXPECT_EQ(text_with_id(l.dom, "identity"),
            "sent 100,000 = delivered 20,005 + dropped 79,995 + unexplained 0");

  std::string waterfall = svg_with_id(l.dom, "chart-waterfall");
  std::size_t dropping = 0;
  for (const auto& st : doc["stages"]) {
    EXPECT_NE(
        waterfall.find("class=\"bar-in\" data-stage=\"" + st["name"].get<std::string>() + "\""),
        std::string::npos)
        << st["name"];
    if (st["dropped"].get<std::uint64_t>() > 0) ++dropping;
  }
  EXPECT_EQ(count(waterfall, "class=\"bar-in\""), doc["stages"].size());
  EXPECT_EQ(count(waterfall, "class=\"bar-dropped\""), dropping);
  EXPECT_NE(waterfall.find("79,995 dropped (80.0%)"), std::string::npos);
  // The dropped part of the socket stage's bar, painted.
  EXPECT_GT(l.shot.pixels_of(0xd3, 0x2f, 0x2f), 2000u);

  // One line per stage that dropped during the run: here only the socket.
  std::string timeline = svg_with_id(l.dom, "chart-timeline");
  EXPECT_EQ(count(timeline, "class=\"series-line\""), 1u);
  EXPECT_NE(timeline.find("data-series=\"socket\""), std::string::npos);

  std::string latency = svg_with_id(l.dom, "chart-latency");
  EXPECT_EQ(count(latency, "class=\"series-line\""), 2u); // latency_ns and queue_ns
  EXPECT_EQ(count(latency, "class=\"point\""), 10u);      // p50 p90 p99 p99.9 max each
  EXPECT_NE(latency.find("774 \u00b5s"), std::string::npos);
  EXPECT_NE(l.dom.find("SOCKET_RCVBUFF"), std::string::npos);
}

TEST_F(HtmlInChromium, Compare) {
  json doc = fixture("compare.sample.json");
  Loaded l = load(render_html(doc), "compare", true);
  expect_clean(l);
  expect_drawn(l);
  EXPECT_EQ(text_with_id(l.dom, "verdict"), "improved");
  std::size_t panels = doc["metrics"].size() + doc["cost"].size();
  EXPECT_EQ(count(l.dom, "class=\"chart chart-metric\""), doc["metrics"].size());
  EXPECT_EQ(count(l.dom, "class=\"chart chart-cost\""), doc["cost"].size());
  EXPECT_EQ(count(l.dom, "class=\"bar-mean\""), 2 * panels);
  EXPECT_EQ(count(l.dom, "class=\"ci-bar\""), 2 * panels);
  for (const auto& m : doc["metrics"]) {
    EXPECT_NE(l.dom.find("data-metric=\"" + m["name"].get<std::string>() + "\""), std::string::npos)
        << m["name"];
  }
  EXPECT_NE(l.dom.find("sink.rcvbuf=4MiB"), std::string::npos);
  EXPECT_GT(l.shot.pixels_of(0x1e, 0x88, 0xe5), 2000u); // the candidate's bars
}

TEST_F(HtmlInChromium, Sweep) {
  json doc = fixture("sweep.sample.json");
  Loaded l = load(render_html(doc), "sweep", true);
  expect_clean(l);
  expect_drawn(l);
  std::string sweep = svg_with_id(l.dom, "chart-sweep");
  EXPECT_EQ(count(sweep, "class=\"series-line\""), 3u); // total, backlog, socket
  EXPECT_EQ(count(sweep, "class=\"knee\""), 1u);
  EXPECT_EQ(text_with_id(l.dom, "knee"), "knee at 4MiB");
  EXPECT_EQ(count(l.dom, "<tr"), 1 + doc["points"].size()); // the points table
  EXPECT_GT(l.shot.pixels_of(0xd8, 0x1b, 0x60), 100u);      // the socket's curve
}

TEST_F(HtmlInChromium, SweepThroughput) {
  json doc = fixture("sweep-throughput.sample.json");
  Loaded l = load(render_html(doc), "sweep-throughput", true);
  expect_clean(l);
  expect_drawn(l);
  std::string tp = svg_with_id(l.dom, "chart-throughput");
  EXPECT_EQ(count(tp, "class=\"trial\""), doc["throughput"]["trials"].size());
  EXPECT_EQ(count(tp, "class=\"max-rate\""), 1u);
  EXPECT_EQ(text_with_id(l.dom, "max-rate"), "71,172 pps");
  EXPECT_EQ(svg_with_id(l.dom, "chart-sweep"), "");    // no --vary points to draw
  EXPECT_GT(l.shot.pixels_of(0x2e, 0x7d, 0x32), 200u); // the passed trials' dots
}

TEST_F(HtmlInChromium, ReportStringsStayText) {
  json doc = fixture("report.socket-rcvbuf.json");
  doc["context"]["profile"]["description"] =
      "</script><script>document.body.dataset.pwned = 'script'</script>"
      "<img src=x onerror=\"document.body.dataset.pwned = 'img'\"><!--";
  doc["stages"][0]["name"] = "<b onmouseover=alert(1)>gen</b>";
  doc["stages"][0]["hint"] = "<svg onload=\"document.body.dataset.pwned = 'svg'\"></svg>";
  Loaded l = load(render_html(doc), "injection", false);
  expect_clean(l);
  EXPECT_EQ(l.dom.find("data-pwned"), std::string::npos) << "a report string ran as script";
  EXPECT_EQ(l.dom.find("<img"), std::string::npos);
  EXPECT_EQ(l.dom.find("<b onmouseover"), std::string::npos);
  EXPECT_NE(l.dom.find("&lt;img src=x onerror="), std::string::npos)
      << "the description is shown as text";
}

TEST_F(HtmlInChromium, MissingAndUnmeasuredValuesRender) {
  json run = fixture("report.socket-rcvbuf.json");
  run.erase("timeline");
  run["sink"]["summary"]["latency_ns"]["count"] = 0;
  run["sink"]["summary"].erase("queue_ns");
  run["expect"] = nullptr;
  run["stages"][1]["evidence"][0] = {{"counter", "tx.qdisc.drops"},
                                     {"source", "rtnetlink"},
                                     {"delta", nullptr},
                                     {"is_drop", true},
                                     {"unavailable_reason", "no such qdisc"}};
  run["stages"][1]["dropped_complete"] = false;
  run["accounting"]["unavailable_counters"] = {"tx.qdisc.drops"};

  json compare = fixture("compare.sample.json"); // one run per arm: nothing to test with
  for (auto* list : {&compare["metrics"], &compare["cost"]}) {
    for (auto& m : *list) {
      for (const char* arm : {"baseline", "candidate"}) {
        m[arm]["n"] = 1;
        for (const char* k : {"stddev", "ci95_low", "ci95_high"})
          m[arm][k] = nullptr;
      }
      m["difference"] = {{"mean", nullptr}, {"ci95_low", nullptr}, {"ci95_high", nullptr}};
      m["test"] = {
          {"name", "Welch's t-test, two-sided"}, {"t", nullptr}, {"df", nullptr}, {"p", nullptr}};
      m["verdict"] = "no significant difference";
    }
  }
  compare["verdict"]["p"] = nullptr;
  compare["verdict"]["result"] = "no significant difference";
  compare["notes"] = {"p is not measurable with 1 run per arm"};

  json sweep = fixture("sweep.sample.json");
  sweep["knee"] = nullptr;
  sweep["points"][2]["loss_fraction"] = nullptr; // sent 0
  json sweep_no_rate = fixture("sweep-throughput.sample.json");
  sweep_no_rate["throughput"]["max_zero_loss_pps"] = nullptr;
  for (auto& t : sweep_no_rate["throughput"]["trials"])
    t["passed"] = false;

  for (const auto& [name, doc] :
       std::vector<std::pair<std::string, json>>{{"run-partial", run},
                                                 {"run-empty", json::object()},
                                                 {"compare-n1", compare},
                                                 {"sweep-no-knee", sweep},
                                                 {"sweep-no-rate", sweep_no_rate}}) {
    SCOPED_TRACE(name);
    Loaded l = load(render_html(doc), name, false);
    expect_clean(l);
    if (name == "run-partial") {
      EXPECT_EQ(text_with_id(l.dom, "no-latency"), "No latency recorded.");
      EXPECT_NE(l.dom.find("unavailable: no such qdisc"), std::string::npos);
    }
    if (name == "compare-n1") {
      EXPECT_EQ(text_with_id(l.dom, "notes"), "p is not measurable with 1 run per arm");
      EXPECT_EQ(count(l.dom, "class=\"ci-bar\""), 0u);
    }
    if (name == "sweep-no-knee") {
      EXPECT_EQ(text_with_id(l.dom, "knee"), "no knee: every point lost packets, or none did");
    }
    if (name == "sweep-no-rate") {
      EXPECT_EQ(text_with_id(l.dom, "max-rate"), "No trial rate passed.");
    }
  }
}

// The checks catch a page that fails: an uncaught error and a rejected
// promise after the renderer finished, and a renderer that throws.
TEST_F(HtmlInChromium, BrokenPagesAreCaught) {
  const std::string page = render_html(fixture("report.socket-rcvbuf.json"));
  const std::string renderer_start = "'use strict';\n// Draws the document";
  std::string throws = page;
  throws.insert(throws.find(renderer_start) + 14,
                "throw new Error('renderer broken by design');\n");
  for (const auto& [name, html, expected] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"uncaught", with_before_body_end(page, "<script>noSuchFunctionByDesign();</script>"),
            "noSuchFunctionByDesign"},
           {"rejection",
            with_before_body_end(
                page, "<script>Promise.reject(new Error('rejected by design'));</script>"),
            "rejected by design"},
           {"renderer-throws", throws, "renderer broken by design"}}) {
    SCOPED_TRACE(name);
    Loaded l = load(html, name, false);
    ASSERT_FALSE(l.dom_problems.empty());
    EXPECT_NE(joined(l.dom_problems).find(expected), std::string::npos) << joined(l.dom_problems);
    EXPECT_NE(l.dom.find("data-rendered=\"error\""), std::string::npos);
    ASSERT_FALSE(l.console.empty());
    EXPECT_NE(joined(l.console).find(expected), std::string::npos) << joined(l.console);
  }
}

TEST_F(HtmlInChromium, BlankScreenshotFailsTheInkCheck) {
  Loaded l = load("<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>",
                  "blank", true);
  EXPECT_EQ(l.shot.width, 1200u);
  EXPECT_LT(l.shot.ink_fraction(), kMinInk);
}

} // namespace
