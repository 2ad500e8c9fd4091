// droplab-gen: flags in, run() out. Everything else lives in droplab_gen_lib.
#include "droplab/cli.hpp"
#include "gen/config.hpp"
#include "gen/run.hpp"

int main(int argc, char** argv) {
  CLI::App app{"droplab-gen", "droplab-gen"};
  droplab::gen::Flags flags;
  droplab::gen::add_flags(app, flags);
  if (int rc = droplab::parse_cli(app, argc, argv); rc >= 0) return rc;
  return droplab::guarded_main("droplab-gen",
                               [&] { return droplab::gen::run(droplab::gen::make_config(flags)); });
}
