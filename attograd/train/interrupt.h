#pragma once
// Ctrl-C handling for training loops: the first SIGINT (or SIGTERM) asks the loop to stop at the
// next step boundary, so it can save a checkpoint; a second one ends the program at once. Either
// way the program exits as shells expect of a program a signal stopped: 128 + the signal's number
// (130 for SIGINT, 143 for SIGTERM), after saving.

namespace ag::train {

/// Installs the handlers (idempotent).
void install_interrupt_handler();
/// True once SIGINT or SIGTERM arrived after install_interrupt_handler().
bool interrupted();
/// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int interrupt_signal();
/// What a program a signal stopped exits with: 128 + interrupt_signal(), or 0 when none arrived.
int interrupted_exit_code();
/// Clears the flag (for tests).
void reset_interrupt();

}  // namespace ag::train
