// `droplab lab up|down|status`: the local lab on its own, for poking at by hand.
#pragma once

namespace droplab::harness {

int lab_up_command();
// Removes labs made by `lab up`; with `recover`, also undoes what killed runs left.
int lab_down_command(bool recover);
int lab_status_command();

} // namespace droplab::harness
