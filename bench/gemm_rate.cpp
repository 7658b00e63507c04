// gemm_rate: attograd's sgemm in GFLOP/s on given shapes, at the thread count of --threads, the
// figure bench/gemm_bench.py puts beside OpenBLAS's (PyTorch's BLAS). Prints one JSON line:
// {"framework": "attograd", "threads": N, "rates": [{"m":.., "n":.., "k":.., "gflops":..}, ...]}.
//
//   gemm_rate --threads N --shapes 2048x2048x2048,64x5921x256 [--seconds 0.5] [--transpose-b]
#include <chrono>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/core/gemm.h"
#include "attograd/train/command_line.h"

int main(int argc, char** argv) {
  int threads = 1;
  std::vector<std::string> shapes{"2048x2048x2048"};
  double seconds = 0.5;
  bool transpose_b = false;
  CLI::App app{"sgemm GFLOP/s of attograd's own GEMM"};
  app.add_option("--threads", threads, "threads")->capture_default_str()->check(ag::train::integer_in(1, ag::kMaxThreads));
  app.add_option("--shapes", shapes, "MxNxK products: C (M, N) = A (M, K) B (K, N)")->delimiter(',');
  app.add_option("--seconds", seconds, "time each shape for about this long")->capture_default_str();
  app.add_flag("--transpose-b", transpose_b, "B stored (N, K), as a Linear layer's weight");
  if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;

  ag::set_num_threads(threads);
  nlohmann::json rates = nlohmann::json::array();
  for (const std::string& s : shapes) {
    int64_t m = 0, n = 0, k = 0;
    if (std::sscanf(s.c_str(), "%ldx%ldx%ld", &m, &n, &k) != 3 || m < 1 || n < 1 || k < 1) {
      fmt::print(stderr, "gemm_rate: --shapes wants MxNxK, got {}\n", s);
      return ag::train::kUsageError;
    }
    ag::Generator gen(0);
    const ag::Tensor a = ag::randn({m, k}, gen), b = ag::randn({k, n}, gen);
    ag::Tensor c = ag::empty({m, n});
    auto run = [&] {
      ag::sgemm(m, n, k, {a.data(), k, false}, {b.data(), transpose_b ? k : n, transpose_b}, c.data(), n, false);
    };
    run();  // warm-up: page in, grow the packing buffers
    using clock = std::chrono::steady_clock;
    int64_t calls = 0;
    const auto start = clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      run();
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    rates.push_back({{"m", m}, {"n", n}, {"k", k}, {"gflops", 2.0 * m * n * k * calls / elapsed * 1e-9}});
  }
  fmt::print("{}\n", nlohmann::json{{"framework", "attograd"}, {"threads", threads}, {"rates", rates}}.dump());
  return 0;
}
