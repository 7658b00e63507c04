// ag::dist on MPI (built when ATTOGRAD_MPI finds it). MPI starts only when a launcher started this
// process: run alone, the program is a world of one and never touches MPI (no singleton start-up).
// The C API only: without these, mpi.h in a C++ file pulls in the deprecated C++ bindings, which
// need a library (libmpi_cxx) attograd does not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "attograd/core/error.h"
#include "attograd/dist/dist.h"

namespace ag::dist {

namespace {

bool started = false;  // init() called MPI_Init_thread
bool finalized = false;
int my_rank = 0, my_world = 1;

// Open MPI (OMPI_COMM_WORLD_SIZE), PMIx (PMIX_RANK) and MPICH's Hydra (PMI_RANK) launchers.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

void ok(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("dist: {} failed on rank {} of {}: {}", call, my_rank, my_world, std::string(text, length)));
}

// MPI counts are int: a longer buffer goes in pieces.
template <class F>
void in_pieces(int64_t n, F f) {
  for (int64_t at = 0; at < n; at += INT_MAX) f(at, static_cast<int>(std::min<int64_t>(INT_MAX, n - at)));
}

}  // namespace

bool built_with_mpi() { return true; }

void init(int* argc, char*** argv) {
  if (started || !launched_by_mpi()) return;
  int provided = 0;
  ok(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  started = true;
  check(provided >= MPI_THREAD_FUNNELED, "dist: this MPI gives thread level {}, below MPI_THREAD_FUNNELED", provided);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors come back as codes: ag::Error
  ok(MPI_Comm_rank(MPI_COMM_WORLD, &my_rank), "MPI_Comm_rank");
  ok(MPI_Comm_size(MPI_COMM_WORLD, &my_world), "MPI_Comm_size");
}

void finalize() {
  if (!started || finalized) return;
  finalized = true;
  MPI_Finalize();
}

void abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (started && !finalized && my_world > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

int rank() { return my_rank; }
int world_size() { return my_world; }

void barrier() {
  if (my_world > 1) ok(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void allreduce_sum(float* data, int64_t n) {
  if (my_world == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    ok(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  });
}

void allreduce_sum(double* data, int64_t n) {
  if (my_world == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    ok(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  });
}

void broadcast(float* data, int64_t n, int root) {
  if (my_world == 1) return;
  in_pieces(n, [&](int64_t at, int count) { ok(MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast"); });
}

void broadcast(uint64_t* data, int64_t n, int root) {
  if (my_world == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    ok(MPI_Bcast(data + at, count, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  });
}

struct Request::Impl {
  MPI_Request request = MPI_REQUEST_NULL;
};

Request::Request() : impl_(std::make_unique<Impl>()) {}
Request::~Request() {
  if (impl_ && impl_->request != MPI_REQUEST_NULL) MPI_Wait(&impl_->request, MPI_STATUS_IGNORE);
}
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    if (impl_ && impl_->request != MPI_REQUEST_NULL) MPI_Wait(&impl_->request, MPI_STATUS_IGNORE);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

bool Request::test() {
  if (!impl_ || impl_->request == MPI_REQUEST_NULL) return true;
  int done = 0;
  ok(MPI_Test(&impl_->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  return done != 0;
}

void Request::wait() {
  if (impl_ && impl_->request != MPI_REQUEST_NULL) ok(MPI_Wait(&impl_->request, MPI_STATUS_IGNORE), "MPI_Wait");
}

Request iallreduce_sum(float* data, int64_t n) {
  Request r;
  if (my_world == 1 || n == 0) return r;
  check(n <= INT_MAX, "dist::iallreduce_sum: {} floats is more than one MPI request carries", n);
  ok(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r.impl_->request),
     "MPI_Iallreduce");
  return r;
}

}  // namespace ag::dist
