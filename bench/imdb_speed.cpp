// imdb_speed: times attograd's IMDB classifier on the batches `imdb train --export-batches` wrote,
// the same ones bench/torch/imdb.py times PyTorch on. Prints one JSON line.
//
//   imdb_speed --batches FILE [--threads N] [--warmup 5] [--steps 30] [--flops]
//
// Besides tokens/s it reports the peak RSS after training (loading and the training steps) and, with
// --flops, the FLOPs per training token as ag::profile counts them.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "attograd/core/core.h"
#include "examples/imdb/model.h"
#include "attograd/nn/hdf5.h"
#include "attograd/optim/adam.h"
#include "attograd/train/command_line.h"
#include "bench/bench_util.h"

int main(int argc, char** argv) {
  std::string path;
  int threads = 1;
  int64_t warmup = 5, steps = 30;
  CLI::App app{"time training and inference steps of the IMDB classifier on exported batches"};
  app.add_option("--batches", path, "file written by imdb train --export-batches")->required();
  app.add_option("--threads", threads, "threads")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  bool count_flops = false;
  app.add_flag("--flops", count_flops, "also count the FLOPs per training token (one step once more)");
  if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;

  ag::set_num_threads(threads);
  ag::H5File file(path, ag::H5File::Mode::Read);
  const imdb::ModelConfig config = imdb::ModelConfig::from_json(file.attr_string("/", "config"));
  const int64_t available = file.attr_int("/", "steps");
  struct Batch {
    ag::IntTensor ids, lengths;
    ag::Tensor labels;
  };
  std::vector<Batch> batches;
  for (int64_t s = 0; s < available; ++s)
    batches.push_back({file.read_ints(fmt::format("/batches/{}/ids", s)), file.read_ints(fmt::format("/batches/{}/lengths", s)),
                       file.read_tensor(fmt::format("/batches/{}/labels", s))});
  ag::manual_seed(0);
  imdb::Classifier model(config);
  ag::optim::Adam adam(model.named_parameters(), 1e-3);
  using clock = std::chrono::steady_clock;

  // Training: forward, loss, backward, Adam step: what one step of imdb train does.
  double train_seconds = 0;
  const double before_mb = static_cast<double>(ag::Storage::live_bytes()) / (1 << 20);  // model, batches
  ag::Storage::reset_peak_bytes();
  for (int64_t i = 0; i < warmup + steps; ++i) {
    const Batch& b = batches[i % available];
    const auto start = clock::now();
    const ag::Tensor logits = model.forward(b.ids, b.lengths).logits;
    const ag::Tensor loss = ag::binary_cross_entropy_with_logits(logits, b.labels);
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (i >= warmup) train_seconds += std::chrono::duration<double>(clock::now() - start).count();
  }
  const double training_rss = ag::bench::peak_rss_mb();
  const double tensor_peak_mb = static_cast<double>(ag::Storage::peak_bytes()) / (1 << 20);
  double flops_per_token = 0;
  if (count_flops) {  // every batch has the same shape: one step tells
    const Batch& b = batches[warmup % available];
    flops_per_token = ag::bench::flops_of([&] {
      adam.zero_grad();
      ag::binary_cross_entropy_with_logits(model.forward(b.ids, b.lengths).logits, b.labels).backward();
    }) / static_cast<double>(b.ids.numel());
  }
  // Inference: eval mode, nothing recorded.
  model.eval();
  double eval_seconds = 0;
  {
    ag::NoGradGuard no_grad;
    for (int64_t i = 0; i < warmup + steps; ++i) {
      const Batch& b = batches[i % available];
      const auto start = clock::now();
      const ag::Tensor logits = model.forward(b.ids, b.lengths).logits;
      if (i >= warmup) eval_seconds += std::chrono::duration<double>(clock::now() - start).count();
    }
  }
  const double tokens = static_cast<double>(steps * batches[0].ids.numel());
  fmt::print("{}\n", nlohmann::json{{"framework", "attograd"},
                                    {"threads", threads},
                                    {"train_tokens_per_s", tokens / train_seconds},
                                    {"eval_tokens_per_s", tokens / eval_seconds},
                                    {"train_flops_per_token", flops_per_token},
                                    {"training_peak_rss_mb", training_rss},
                                    {"tensors_before_training_mb", before_mb},
                                    {"training_peak_tensors_mb", tensor_peak_mb}}
                         .dump());
  return 0;
}
