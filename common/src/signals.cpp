#include "droplab/signals.hpp"

#include <csignal>

namespace droplab {
namespace {
volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop(int sig) { g_stop = sig; }
} // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a blocked syscall returns EINTR
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  // A closed output pipe (`droplab run … | head`) must not kill a run before
  // it restores the host: the write fails with EPIPE instead, and unwinds.
  ::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop != 0; }
int stop_signal() { return g_stop; }
void request_stop() { g_stop = SIGTERM; }

} // namespace droplab
