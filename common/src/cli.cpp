#include "droplab/cli.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <system_error>

namespace droplab {

int parse_cli(CLI::App& app, int argc, char** argv) {
  // Every binary answers --version the same way ("droplab-gen 0.1.0"): help2man
  // builds the man pages from it, and a lab host's version is one command away.
  app.set_version_flag("--version", fmt::format("{} {}", app.get_name(), DROPLAB_VERSION));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: error: {}\nRun with --help for usage.\n", app.get_name(), e.what());
    return kExitUsage;
  }
  return -1;
}

int guarded_main(const char* prog, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}: error: {}\n", prog, e.what());
    return kExitUsage;
  } catch (const UnitError& e) {
    fmt::print(stderr, "{}: error: {}\n", prog, e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", prog, e.what());
    return kExitError;
  }
}

} // namespace droplab
