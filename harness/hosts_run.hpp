// `droplab run` on real hosts: a profile with "hosts" names one receiver and
// any number of senders, each reached through its droplab agent (the local
// one, over SSH or over mutual TLS). One waterfall: each sender's own stages,
// the receiving stages once, one accounting identity over all senders.
#pragma once

#include "run.hpp"

namespace droplab::harness {

RunResult run_hosts(const Profile& prof, const RunOptions& opt);

} // namespace droplab::harness
