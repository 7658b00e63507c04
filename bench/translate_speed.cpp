// translate_speed: times attograd's translation model on what `translate train --export-batches`
// wrote (the initial model, the recipe and the training batches), the same steps bench/torch/translate.py
// times PyTorch on: training tokens/s (non-pad source + target ids, as translate train counts them)
// and greedy decoding of a test split as translate eval does it. Prints one JSON line.
//
//   translate_speed --batches FILE [--threads N] [--warmup 5] [--steps 30] [--decode-checkpoint F]
//                   [--split test_2016_flickr] [--sentences N] [--data DIR]
//
// With --logits OUT it times nothing: it writes the eval-mode (no dropout) teacher-forced logits, the
// label-smoothed loss and the gradient norm of the first --logit-batches batches under the weights of
// --checkpoint (default: the file's initial model), for `bench/torch/translate.py logits`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/data/parallel_corpus.h"
#include "examples/translate/dataset.h"
#include "examples/translate/evaluate.h"
#include "attograd/nn/hdf5.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/clip.h"
#include "attograd/optim/schedule.h"
#include "attograd/train/command_line.h"
#include "bench/bench_util.h"

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

std::vector<translate::Batch> read_batches(const ag::H5File& file, int64_t count) {
  const ag::IntTensor tokens = file.read_ints("/tokens");
  std::vector<translate::Batch> batches;
  for (int64_t s = 0; s < count; ++s) {
    const std::string at = fmt::format("/batches/{}/", s);
    translate::Batch b;
    b.src = file.read_ints(at + "src");
    b.src_lengths = file.read_ints(at + "src_lengths");
    b.trg_in = file.read_ints(at + "trg_in");
    b.trg_out = file.read_ints(at + "trg_out");
    b.tokens = tokens.data()[s];
    batches.push_back(std::move(b));
  }
  return batches;
}

// Writes what bench/torch/translate.py logits compares: per batch the logits (B, T, V), the loss and
// the gradient norm before clipping.
int write_logits(const std::string& path, const std::string& batches_file, const std::string& checkpoint,
                 int64_t count) {
  const ag::H5File file(batches_file, ag::H5File::Mode::Read);
  const json recipe = json::parse(file.attr_string("/", "recipe"));
  count = std::min(count, file.attr_int("/", "steps"));
  const std::vector<translate::Batch> batches = read_batches(file, count);
  const translate::LoadedModel m = translate::load_model(checkpoint.empty() ? batches_file : checkpoint);
  m.model->eval();
  ag::H5File out(path, ag::H5File::Mode::Create);
  std::vector<float> losses, norms;
  for (int64_t s = 0; s < count; ++s) {
    const translate::Batch& b = batches[s];
    const ag::Tensor logits = m.model->forward(b.src, b.src_lengths, b.trg_in);
    const ag::Tensor loss = ag::cross_entropy(logits, b.trg_out, recipe.at("ignore_index").get<int64_t>(),
                                              recipe.at("label_smoothing").get<float>());
    m.model->zero_grad();
    loss.backward();
    norms.push_back(static_cast<float>(
        ag::optim::clip_grad_norm_(m.model->named_parameters(), std::numeric_limits<double>::infinity())));
    losses.push_back(loss.item());
    out.write(fmt::format("/logits/{}", s), logits.detach());
  }
  out.write("/loss", ag::from_data(losses, {count}));
  out.write("/grad_norm", ag::from_data(norms, {count}));
  out.set_attr("/", "batches", count);
  out.set_attr("/", "checkpoint", checkpoint);
  out.close();
  fmt::print("wrote the logits, losses and gradient norms of {} batches to {}\n", count, path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, decode_checkpoint, split = "test_2016_flickr", data, logits, checkpoint, hyps_out;
  std::string beams_text = "1";
  bool count_flops = false;
  int threads = 1;
  int64_t warmup = 5, steps = 30, sentences = 0, logit_batches = 4;
  CLI::App app{"time training steps and greedy decoding of the translation model on exported batches"};
  app.add_option("--batches", path, "file written by translate train --export-batches")->required();
  app.add_option("--threads", threads, "threads")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  app.add_option("--decode-checkpoint", decode_checkpoint, "model to decode with (default: the batches file's)");
  app.add_option("--split", split, "split to decode")->capture_default_str();
  app.add_option("--sentences", sentences, "decode the first N sentences (0: all)")->capture_default_str();
  app.add_option("--beams", beams_text, "beam sizes to decode with, comma-separated (1: greedy; empty: no decoding)")
      ->capture_default_str();
  app.add_option("--hyps-out", hyps_out, "write each decode's hypotheses to PREFIX.beam<K>.txt");
  app.add_flag("--flops", count_flops, "also count the FLOPs per training token (the timed steps once more)");
  app.add_option("--data", data, "folder with the corpus (default: $ATTOGRAD_DATA, then ~/.local/share/attograd, then ../shared/data beside the source tree)");
  app.add_option("--logits", logits, "write teacher-forced logits, losses and gradient norms here instead of timing");
  app.add_option("--checkpoint", checkpoint, "--logits: the weights (default: the batches file's)");
  app.add_option("--logit-batches", logit_batches, "--logits: batches to write")->capture_default_str();
  if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;

  std::vector<int64_t> beams;
  for (size_t at = 0; at < beams_text.size();) {
    const size_t end = std::min(beams_text.find(',', at), beams_text.size());
    const std::string item = beams_text.substr(at, end - at);
    char* rest = nullptr;
    const long beam = std::strtol(item.c_str(), &rest, 10);
    if (item.empty() || *rest != '\0' || beam < 1 || beam > 1000) {
      fmt::print(stderr, "translate_speed: --beams wants beam sizes in [1, 1000] separated by commas, got '{}'\n",
                 beams_text);
      return ag::train::kUsageError;
    }
    beams.push_back(beam);
    at = end + 1;
  }
  try {
    ag::set_num_threads(threads);
    if (!logits.empty()) return write_logits(logits, path, checkpoint, logit_batches);
    const ag::H5File file(path, ag::H5File::Mode::Read);
    const json recipe = json::parse(file.attr_string("/", "recipe"));
    const std::vector<translate::Batch> batches =
        read_batches(file, std::min(warmup + steps, file.attr_int("/", "steps")));
    ag::check(!batches.empty(), "translate_speed: {} holds no batches", path);

    // Training: what one step of translate train does, with its optimizer and schedule.
    translate::LoadedModel m = translate::load_model(path);
    ag::manual_seed(recipe.at("seed").get<uint64_t>());
    m.model->train();
    ag::check(recipe.at("optimizer") == "Adam", "translate_speed: optimizer {} is not supported",
              recipe.at("optimizer").dump());
    ag::optim::Adam adam(m.model->named_parameters(), recipe.at("lr").get<double>(),
                         {recipe.at("beta1").get<double>(), recipe.at("beta2").get<double>()},
                         recipe.at("eps").get<double>(), 0, recipe.at("amsgrad").get<double>() != 0);
    std::unique_ptr<ag::optim::Scheduler> schedule =
        recipe.at("schedule") == "InverseSqrt"
            ? std::unique_ptr<ag::optim::Scheduler>(
                  std::make_unique<ag::optim::InverseSqrt>(adam, recipe.at("warmup").get<int64_t>()))
            : std::make_unique<ag::optim::ConstantLR>(adam);
    schedule->set_step(recipe.at("scheduler_step").get<int64_t>());
    const float smoothing = recipe.at("label_smoothing").get<float>();
    const int64_t ignore = recipe.at("ignore_index").get<int64_t>();
    const double clip = recipe.at("clip").get<double>();
    double train_seconds = 0, tokens = 0;
    const double before_mb = static_cast<double>(ag::Storage::live_bytes()) / (1 << 20);  // model, batches
    ag::Storage::reset_peak_bytes();
    for (int64_t i = 0; i < warmup + steps; ++i) {
      const translate::Batch& b = batches[i % static_cast<int64_t>(batches.size())];
      const auto start = clock_type::now();
      const ag::Tensor logits = m.model->forward(b.src, b.src_lengths, b.trg_in);
      const ag::Tensor loss = ag::cross_entropy(logits, b.trg_out, ignore, smoothing);
      adam.zero_grad();
      loss.backward();
      if (clip > 0) ag::optim::clip_grad_norm_(m.model->named_parameters(), clip);
      adam.step();
      schedule->step();
      if (i >= warmup) {
        train_seconds += std::chrono::duration<double>(clock_type::now() - start).count();
        tokens += static_cast<double>(b.tokens);
      }
    }

    const double training_rss = ag::bench::peak_rss_mb();  // loading and the training steps
    const double tensor_peak_mb = static_cast<double>(ag::Storage::peak_bytes()) / (1 << 20);

    // FLOPs per training token: the timed batches' forward and backward again, counted by ag::profile.
    double flops_per_token = 0;
    if (count_flops && steps > 0) {
      double flops = 0;
      for (int64_t i = warmup; i < warmup + steps; ++i) {
        const translate::Batch& b = batches[i % static_cast<int64_t>(batches.size())];
        flops += ag::bench::flops_of([&] {
          adam.zero_grad();
          ag::cross_entropy(m.model->forward(b.src, b.src_lengths, b.trg_in), b.trg_out, ignore, smoothing).backward();
        });
      }
      flops_per_token = flops / tokens;
    }

    // Decoding: translate eval's batching (64 sentences of similar length) and length limit, greedy
    // (beam 1) or beam search (length penalty 0.6).
    json decodes = json::array();
    if (!beams.empty()) {
      const translate::LoadedModel d = translate::load_model(decode_checkpoint.empty() ? path : decode_checkpoint);
      ag::data::ParallelCorpus corpus =
          ag::data::read_multi30k(ag::data::find_multi30k(data, d.src_lang), split, d.src_lang, d.trg_lang);
      if (sentences > 0 && corpus.size() > sentences) corpus.source.resize(sentences);
      for (const int64_t beam : beams) {
        const auto start = clock_type::now();
        const auto hypotheses =
            translate::translate_sentences(*d.model, d.src_vocab, d.trg_vocab, corpus.source, beam);
        const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
        int64_t generated = 0;  // decoding steps: words + 1 per sentence, as translate.py counts them
        for (const auto& words : hypotheses) generated += static_cast<int64_t>(words.size()) + 1;
        const double n = static_cast<double>(corpus.source.size());
        decodes.push_back({{"beam", beam},
                           {"sentences", corpus.source.size()},
                           {"seconds", seconds},
                           {"generated_tokens", generated},
                           {"sentences_per_s", n / seconds},
                           {"tokens_per_s", static_cast<double>(generated) / seconds}});
        if (!hyps_out.empty()) translate::write_hypotheses(fmt::format("{}.beam{}.txt", hyps_out, beam), hypotheses);
      }
    }
    fmt::print("{}\n", json({{"framework", "attograd"},
                            {"threads", threads},
                            {"train_tokens_per_s", train_seconds > 0 ? tokens / train_seconds : 0.0},
                            {"train_steps", steps},
                            {"train_seconds", train_seconds},
                            {"train_flops_per_token", flops_per_token},
                            {"decode", decodes},
                            {"training_peak_rss_mb", training_rss},
                            {"tensors_before_training_mb", before_mb},
                            {"training_peak_tensors_mb", tensor_peak_mb},
                            {"peak_rss_mb", ag::bench::peak_rss_mb()}})
                           .dump());
    return 0;
  } catch (const ag::Error& e) {
    fmt::print(stderr, "translate_speed: {}\n", e.what());
    return 1;
  }
}
