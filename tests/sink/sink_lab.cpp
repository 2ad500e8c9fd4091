#include "sink_lab.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#ifndef DROPLAB_SINK_BIN
#error "DROPLAB_SINK_BIN must name the droplab-sink binary"
#endif

using nlohmann::json;

namespace sinktest {

LabFiles::LabFiles() {
  char tmpl[] = "/tmp/dlsl-XXXXXX";
  dir = ::mkdtemp(tmpl);
}

LabFiles::~LabFiles() {
  for (const char* f : {"/ready.json", "/report.json", "/out.txt"})
    std::remove((dir + f).c_str());
  ::rmdir(dir.c_str());
}

void SinkLab::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN for ip netns, CAP_NET_ADMIN)";
  static std::atomic<int> n{0};
  std::string why;
  ns_ = NetnsGuard::create("dlsl" + std::to_string(::getpid()) + "-" + std::to_string(n++),
                           kLabAddr, why);
  if (!ns_) GTEST_SKIP() << why;
}

std::unique_ptr<ChildProcess> SinkLab::start_sink(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"ip",
                                   "netns",
                                   "exec",
                                   ns_->name(),
                                   DROPLAB_SINK_BIN,
                                   "--listen",
                                   std::string(kLabAddr) + ":" + std::to_string(kLabPort),
                                   "--ready-file",
                                   files_.ready(),
                                   "--json",
                                   files_.report()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = std::make_unique<ChildProcess>(argv, files_.out());
  EXPECT_TRUE(wait_for_ready_file(files_.ready(), *p, 10'000)) << "sink not ready; its output:\n"
                                                               << read_text(files_.out());
  return p;
}

json SinkLab::stop_and_report(ChildProcess& sink) {
  sink.signal(SIGTERM);
  return wait_and_report(sink);
}

json SinkLab::wait_and_report(ChildProcess& sink) {
  std::optional<int> rc = sink.wait(20'000);
  EXPECT_EQ(rc, 0) << read_text(files_.out());
  std::ifstream in(files_.report());
  if (!in) return json::object();
  return json::parse(in);
}

json SinkLab::ready() const {
  return json::parse(read_text(files_.ready()));
}

} // namespace sinktest
