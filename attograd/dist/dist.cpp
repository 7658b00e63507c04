// The parts of ag::dist that are the same with and without MPI, built on the calls of the backend
// (mpi_backend.cpp or single_process.cpp).
#include "attograd/dist/dist.h"

#include <cstdio>

#include <fmt/format.h>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"

namespace ag::dist {

void quiet_other_ranks() {
  if (rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    throw Error(fmt::format("dist: rank {} cannot send its stdout to /dev/null", rank()));
}

std::string rank_label() { return world_size() > 1 ? fmt::format(" (rank {} of {})", rank(), world_size()) : ""; }

bool any(bool flag) {
  double v = flag ? 1 : 0;
  allreduce_sum(&v, 1);
  return v > 0;
}

Shard shard(int64_t total, int r, int world) {
  check(world >= 1 && r >= 0 && r < world, "dist::shard: rank {} of a world of {}", r, world);
  check(total >= world, "dist::shard: {} items cannot give each of {} ranks at least one", total, world);
  const int64_t base = total / world, extra = total % world;
  return {r * base + std::min<int64_t>(r, extra), base + (r < extra ? 1 : 0)};
}

Shard shard(int64_t total) { return shard(total, rank(), world_size()); }

namespace {
// FNV-1a over the names and shapes: equal on every rank when the tensors match.
uint64_t fingerprint(const NamedTensors& tensors) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
  };
  for (const auto& [name, t] : tensors) {
    for (char c : name) mix(static_cast<unsigned char>(c));
    for (int64_t d = 0; d < t.dim(); ++d) mix(static_cast<uint64_t>(t.size(d)));
    mix(~uint64_t{0});
  }
  return h;
}
}  // namespace

void broadcast(const NamedTensors& tensors, int root) {
  if (world_size() == 1) return;
  uint64_t mine = fingerprint(tensors), roots = mine;
  broadcast(&roots, 1, root);
  // Agreed before any data moves, so a mismatch stops every rank instead of hanging some.
  check(!any(mine != roots), "dist::broadcast: the {} tensors of rank {} differ in names or shapes from rank {}'s "
        "(every rank must build the same model)", tensors.size(), rank(), root);
  NoGradGuard no_grad;
  for (const auto& [name, t] : tensors)
    if (t.numel() > 0) broadcast(t.mutable_data(), t.numel(), root);
}

}  // namespace ag::dist
