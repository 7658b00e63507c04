# Sourced (not run) before anything built in build-sanitize runs: the build itself (gtest lists each
# test binary's tests), the tests and the fuzzers. Any finding fails the program that has it, and
# ctest's children inherit these variables.
# ASan: stop at the first error, look for leaks at exit (LeakSanitizer), check the order of global
# initialisers across files, catch uses of a returned function's stack. UBSan: a stack for each
# finding (the build stops at the first: -fno-sanitize-recover=all). LSan: tools/lsan.supp names the
# few leaks inside system libraries. A finding exits with 86, not 1, so that a CLI test expecting a
# program to fail with 1 cannot mistake a finding for the expected failure.
tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$tools_dir/lsan.supp:print_suppressions=0:exitcode=86"
unset tools_dir
