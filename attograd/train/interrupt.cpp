#include "attograd/train/interrupt.h"

#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace ag::train {

namespace {
volatile std::sig_atomic_t stop_requested = 0;  // the signal that asked to stop, or 0

void on_signal(int signal) {
  if (stop_requested) std::_Exit(128 + signal);  // the second Ctrl-C: the user really wants out
  stop_requested = signal;
  constexpr char kMessage[] = "\nstopping after this step (saving a checkpoint); press Ctrl-C again to quit now\n";
  [[maybe_unused]] const auto written = ::write(2, kMessage, sizeof kMessage - 1);
}
}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return stop_requested != 0; }
int interrupt_signal() { return stop_requested; }
int interrupted_exit_code() { return stop_requested ? 128 + stop_requested : 0; }
void reset_interrupt() { stop_requested = 0; }

}  // namespace ag::train
