// ag::dist in a build without MPI: a world of one process, where every collective is the identity.
#include "attograd/dist/dist.h"

#include <cstdlib>

namespace ag::dist {

struct Request::Impl {};

bool built_with_mpi() { return false; }
void init(int*, char***) {}
void finalize() {}
void abort(int code) { std::exit(code); }
int rank() { return 0; }
int world_size() { return 1; }
void barrier() {}
void allreduce_sum(float*, int64_t) {}
void allreduce_sum(double*, int64_t) {}
void broadcast(float*, int64_t, int) {}
void broadcast(uint64_t*, int64_t, int) {}

Request::Request() = default;
Request::~Request() = default;
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&&) noexcept = default;
bool Request::test() { return true; }
void Request::wait() {}
Request iallreduce_sum(float*, int64_t) { return {}; }

}  // namespace ag::dist
