// The dist tests' main: joins the MPI world when mpirun started the binary (ag::dist::Session),
// so the same tests run alone and as ranks.
#include <gtest/gtest.h>

#include "attograd/dist/dist.h"

int main(int argc, char** argv) {
  ag::dist::Session world(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return world.exit_code(RUN_ALL_TESTS());
}
