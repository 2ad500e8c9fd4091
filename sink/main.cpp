// droplab-sink: flags -> Config -> run(). Everything else is in droplab_sink_lib.
#include "droplab/cli.hpp"
#include "droplab/sink/options.hpp"
#include "droplab/sink/run.hpp"

int main(int argc, char** argv) {
  CLI::App app{"droplab-sink", "droplab-sink"};
  droplab::sink::Options opts;
  droplab::sink::add_options(app, opts);
  if (int rc = droplab::parse_cli(app, argc, argv); rc >= 0) return rc;
  return droplab::guarded_main("droplab-sink",
                               [&] { return droplab::sink::run(droplab::sink::to_config(opts)); });
}
