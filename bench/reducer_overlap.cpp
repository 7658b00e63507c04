// What the gradient reducer's overlap hides, under mpirun: the IMDB classifier (default recipe's
// model, a global batch of 64 reviews of 200 ids) and the transformer (its default size, a global
// batch of 64 pairs of 16 + 16 tokens), random data, each rank its half. Per step, after a barrier
// (so the ranks start together and skew does not count), it times backward
//   alone:    loss.backward(), no communication;
//   after:    backward, then every bucket's allreduce (GradientReducer with overlap off);
//   overlap:  the reducer as the Trainer runs it (buckets start while backward runs).
// The allreduce costs after - alone; the overlap hides (after - overlap) / (after - alone) of it.
//   mpirun -np 2 --bind-to none -x OMP_NUM_THREADS=1 build/bench/reducer_overlap [--steps 20]
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/dist/dist.h"
#include "attograd/dist/gradient_reducer.h"
#include "examples/imdb/model.h"
#include "examples/translate/model.h"

namespace {

ag::IntTensor random_ids(ag::Shape shape, int64_t low, int64_t high, ag::Generator& gen) {
  ag::IntTensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = low + static_cast<int64_t>(gen.next_below(high - low));
  return t;
}

// Mean milliseconds of `backward(loss())` on this rank over `steps` steps after 3 of warm-up.
double time_backward(ag::nn::Module& model, int64_t steps, const std::function<ag::Tensor()>& loss,
                     const std::function<void(const ag::Tensor&)>& backward) {
  double total = 0;
  for (int64_t s = 0; s < steps + 3; ++s) {
    for (const auto& [name, p] : model.named_parameters()) p.zero_grad();
    const ag::Tensor l = loss();
    ag::dist::barrier();
    const auto start = std::chrono::steady_clock::now();
    backward(l);
    if (s >= 3) total += 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return total / static_cast<double>(steps);
}

void measure(const std::string& name, ag::nn::Module& model, int64_t steps, const std::function<ag::Tensor()>& loss) {
  ag::dist::GradientReducer after(model.named_parameters(), ag::dist::GradientReducer::kDefaultBucketBytes, false);
  ag::dist::GradientReducer overlap(model.named_parameters());
  const double t_alone = time_backward(model, steps, loss, [](const ag::Tensor& l) { l.backward(); });
  const double t_after = time_backward(model, steps, loss, [&](const ag::Tensor& l) { after.backward(l, 0.5); });
  const double t_overlap = time_backward(model, steps, loss, [&](const ag::Tensor& l) { overlap.backward(l, 0.5); });
  const double comm = t_after - t_alone;
  if (ag::dist::is_main())
    fmt::print("{}: {} buckets of {:.1f} MB in all; backward alone {:.1f} ms, then allreduce {:.1f} ms, overlapped {:.1f} ms:"
               " the overlap hides {:.0f}% of the allreduce's {:.1f} ms\n",
               name, overlap.bucket_count(), 1e-6 * static_cast<double>(overlap.stats().bytes), t_alone, t_after,
               t_overlap, comm > 0 ? 100 * (t_after - t_overlap) / comm : 0.0, comm);
}

}  // namespace

int main(int argc, char** argv) {
  ag::dist::Session world(argc, argv);
  int64_t steps = 20;
  CLI::App app{"What the gradient reducer's overlap with backward hides (run under mpirun)"};
  app.add_option("--steps", steps, "steps timed per mode, after 3 of warm-up");
  CLI11_PARSE(app, argc, argv);
  ag::manual_seed(1);
  ag::Generator data(7 + static_cast<uint64_t>(ag::dist::rank()));
  const int64_t rows = 64 / ag::dist::world_size();

  imdb::ModelConfig ic;
  ic.mask = true;
  imdb::Classifier classifier(ic);
  classifier.train();
  const ag::IntTensor ids = random_ids({rows, ic.maxlen}, 3, ic.vocab_size, data);
  const ag::IntTensor lengths = random_ids({rows}, ic.maxlen / 2, ic.maxlen + 1, data);
  const ag::Tensor labels = ag::zeros({rows});
  measure("imdb", classifier, steps, [&] {
    return ag::binary_cross_entropy_with_logits(classifier.forward(ids, lengths).logits, labels);
  });

  translate::TranslationConfig tc;
  tc.tie_output = true;  // the transformer recipe's
  std::shared_ptr<translate::Seq2Seq> transformer = translate::make_model(tc);
  transformer->train();
  const ag::IntTensor src = random_ids({rows, 16}, 4, tc.src_vocab, data), src_lengths = ag::IntTensor::full({rows}, 16);
  const ag::IntTensor trg_in = random_ids({rows, 16}, 4, tc.trg_vocab, data), trg_out = random_ids({rows, 16}, 4, tc.trg_vocab, data);
  measure("transformer", *transformer, steps, [&] {
    return ag::cross_entropy(transformer->forward(src, src_lengths, trg_in), trg_out, 0);
  });
  return 0;
}
