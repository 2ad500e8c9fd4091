// SIGINT/SIGTERM turn into a flag that loops poll: the binaries stop cleanly,
// finish their reports and restore what they changed.
#pragma once

namespace droplab {

// Installs handlers (without SA_RESTART, so blocking calls return EINTR).
void install_stop_handlers();
bool stop_requested();
int stop_signal(); // the signal that asked to stop, 0 if none
void request_stop(); // as if a signal arrived (tests, internal deadlines)

} // namespace droplab
