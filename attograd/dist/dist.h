#pragma once
// ag::dist: the processes of a data-parallel run (MPI, as Horovod and PyTorch's MPI backend use it).
// A program calls init() at the start; under mpirun every process learns its rank and the world
// size, and the calls below are collectives over all of them (every rank must make the same calls
// in the same order). Run alone (no mpirun), or in a build without MPI, the world is this one
// process and every call is a no-op or the identity, so the same program runs either way.
//
// Threads: only the thread that called init() may call these (MPI_THREAD_FUNNELED); OpenMP's
// workers never do. A collective that fails raises ag::Error naming the call; a rank that dies
// ends the whole job (mpirun's default), so no rank waits forever for it.

#include <cstdint>
#include <memory>
#include <string>

#include "attograd/core/named_tensors.h"
#include "attograd/core/tensor.h"

namespace ag::dist {

/// True when attograd was built with MPI (ATTOGRAD_MPI).
bool built_with_mpi();

/// Joins the run's processes when an MPI launcher started this one (its environment says so),
/// else stays a world of one, with no MPI at all. Takes main's arguments; calling it again is a no-op.
void init(int* argc, char*** argv);
/// Leaves the world (MPI_Finalize); a no-op when init() did not start MPI. At exit at the latest.
void finalize();

/// This process's rank in [0, world_size()); 0 alone.
int rank();
int world_size();
/// rank() == 0: the process that prints, writes metrics and checkpoints.
inline bool is_main() { return rank() == 0; }

void barrier();

/// Ends every rank of the job at once (MPI_Abort) with exit code `code`: for a failure on some
/// ranks, where the others may be waiting in a collective for this one. Alone: std::exit(code).
[[noreturn]] void abort(int code);

/// init() for its lifetime: `ag::dist::Session session(argc, argv);` at the top of main, and
/// `return session.exit_code(run(...))`: a failure (exit code 1) of a distributed run ends every
/// rank (abort()), since a rank that returned alone would leave the others waiting for it; any
/// other code is returned, and every rank leaves the world together (finalize()).
class Session {
 public:
  Session(int& argc, char**& argv) { init(&argc, &argv); }
  ~Session() { finalize(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int exit_code(int code) const {
    if (code == 1 && world_size() > 1) abort(code);
    return code;
  }
};

/// For command-line programs: on every rank but 0, stdout goes to /dev/null, so a run prints one
/// log (rank 0's); stderr stays, so each rank's errors show. Nothing alone.
void quiet_other_ranks();
/// "" alone, else " (rank 1 of 4)": for a program's error messages ("imdb (rank 1 of 4): ...").
std::string rank_label();

/// Sums data[0..n) over the ranks, in place: every rank gets the same sum, in the same bits.
void allreduce_sum(float* data, int64_t n);
void allreduce_sum(double* data, int64_t n);
inline double allreduce_sum(double value) { return allreduce_sum(&value, 1), value; }
/// True on every rank when `flag` is true on any (a stop that all ranks must agree on).
bool any(bool flag);

/// Copies root's data[0..n) to every rank, in place.
void broadcast(float* data, int64_t n, int root = 0);
void broadcast(uint64_t* data, int64_t n, int root = 0);
/// Copies root's values of `tensors` (each contiguous, the same names and shapes on every rank,
/// checked) into every rank's, in place and without recording: the parameters at the start of a run.
void broadcast(const NamedTensors& tensors, int root = 0);

/// A nonblocking collective in flight. Open MPI moves it forward only inside MPI calls, so its
/// owner calls test() now and then (between backward nodes) and wait() when it needs the result.
class Request {
 public:
  Request();
  ~Request();  // waits for a request still in flight: its buffer must outlive it
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  /// True once it has completed (progresses it otherwise); true for a request that never started.
  bool test();
  void wait();

 private:
  friend Request iallreduce_sum(float* data, int64_t n);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
/// Starts summing data[0..n) over the ranks in place; data must stay valid until the request completes.
Request iallreduce_sum(float* data, int64_t n);

/// This rank's part of `total` items split over the world as evenly as it goes: rows [offset,
/// offset + rows), the first total % world_size() ranks one more. Raises ag::Error when total is
/// below the world size (a rank would get nothing to train on).
struct Shard {
  int64_t offset = 0, rows = 0;
};
Shard shard(int64_t total);
/// The same for rank `r` of a world of `world`.
Shard shard(int64_t total, int r, int world);

}  // namespace ag::dist
