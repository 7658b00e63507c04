// The time of a blocking allreduce of a model's gradient, in the buckets the Trainer reduces it in:
// what each step would wait if nothing overlapped it with backward (bench/dist_bench.sh compares it
// with the wait the Trainer's summary reports).
//   mpirun -np 2 build/bench/allreduce_time --floats 1374921 [--bucket-bytes 4194304] [--repeats 50]
#include <chrono>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attograd/dist/dist.h"

int main(int argc, char** argv) {
  ag::dist::Session world(argc, argv);
  int64_t floats = 0, bucket_bytes = 4 << 20, repeats = 50;
  CLI::App app{"Time a blocking allreduce of a gradient of --floats floats over the mpirun ranks"};
  app.add_option("--floats", floats, "gradient size in floats (the model's parameter count)")->required();
  app.add_option("--bucket-bytes", bucket_bytes, "bucket size, as the Trainer's (bytes)");
  app.add_option("--repeats", repeats, "allreduces to time after 5 of warm-up");
  CLI11_PARSE(app, argc, argv);
  std::vector<float> gradient(static_cast<size_t>(floats), 1.0f);
  const int64_t per_bucket = bucket_bytes / 4;
  auto once = [&] {
    for (int64_t at = 0; at < floats; at += per_bucket)
      ag::dist::allreduce_sum(gradient.data() + at, std::min(per_bucket, floats - at));
  };
  for (int i = 0; i < 5; ++i) once();
  ag::dist::barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < repeats; ++i) once();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ag::dist::is_main())
    fmt::print("allreduce of {} floats ({:.2f} MB) over {} ranks: {:.2f} ms ({:.2f} GB/s of gradient)\n", floats,
               4e-6 * static_cast<double>(floats), ag::dist::world_size(), 1e3 * seconds / static_cast<double>(repeats),
               4e-9 * static_cast<double>(floats) * static_cast<double>(repeats) / seconds);
  return 0;
}
