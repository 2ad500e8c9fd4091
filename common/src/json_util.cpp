#include "droplab/json_util.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace droplab {

void write_json_file(const std::string& path, const nlohmann::json& j) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::system_error(errno, std::generic_category(), "open " + tmp);
    out << j.dump(2) << '\n';
    out.flush();
    if (!out) throw std::system_error(errno, std::generic_category(), "write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "rename " + tmp + " to " + path);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                             e.what());
  }
}

std::string kernel_release() {
  utsname u{};
  if (::uname(&u) != 0) return "unavailable";
  return u.release;
}

unsigned online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 0;
}

} // namespace droplab
