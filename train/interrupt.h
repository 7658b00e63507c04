#pragma once
// Ctrl-C handling for training loops: the first SIGINT (or SIGTERM) asks the loop to stop at the
// next step boundary, so it can save a checkpoint; a second one ends the program at once.

namespace ag::train {

/// Installs the handlers (idempotent).
void install_interrupt_handler();
/// True once SIGINT or SIGTERM arrived after install_interrupt_handler().
bool interrupted();
/// Clears the flag (for tests).
void reset_interrupt();

}  // namespace ag::train
