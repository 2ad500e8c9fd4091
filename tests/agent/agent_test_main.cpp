// droplab-agent-test: the real agent (agent_main, both transports) with a test
// table of operations, so the tests can attack a real agent process. Not
// installed.
//   echo      -> its args
//   sleep_ms  {"ms": 0..10000} -> {"slept_ms": ms}
//   set_flag  -> creates --flag-file (stands for "changed the host")
// The restore callback appends "<reason>\n" to --restore-log.
#include "agent_main.hpp"

#include "droplab/cli.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace {

void append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::string text = line + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    throw std::system_error(err, std::generic_category(), "write " + path);
}

} // namespace

int main(int argc, char** argv) {
  using namespace droplab;
  CLI::App app{
      "droplab-agent-test: the droplab agent with test operations (echo, sleep_ms, set_flag)",
      "droplab-agent-test"};
  agent::AgentMainOptions opt;
  agent::add_agent_flags(app, opt);
  std::string restore_log;
  std::string flag_file;
  app.add_option("--restore-log", restore_log, "Append each restore reason to FILE")->required();
  app.add_option("--flag-file", flag_file, "File set_flag creates");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

  opt.make_ops = [&flag_file] {
    agent::OpTable ops;
    ops["echo"] = [](const nlohmann::json& args) { return args; };
    ops["sleep_ms"] = [](const nlohmann::json& args) {
      auto it = args.find("ms");
      if (it == args.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 10'000) {
        throw std::invalid_argument("sleep_ms: /ms must be 0..10000");
      }
      auto ms = it->get<std::uint64_t>();
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return nlohmann::json{{"slept_ms", ms}};
    };
    ops["set_flag"] = [&flag_file](const nlohmann::json&) {
      if (flag_file.empty()) throw std::runtime_error("set_flag: no --flag-file");
      append_line(flag_file, "set");
      return nlohmann::json::object();
    };
    return ops;
  };
  opt.restore = [&restore_log](const std::string& reason) { append_line(restore_log, reason); };
  return guarded_main("droplab-agent-test", [&] { return agent::agent_main(opt); });
}
