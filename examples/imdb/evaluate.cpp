#include "examples/imdb/evaluate.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "attograd/core/core.h"
#include "attograd/dist/dist.h"
#include "attograd/train/progress.h"

namespace imdb {

Evaluation evaluate(Classifier& model, const Examples& examples, std::vector<int64_t> indices, int64_t batch_size,
                    bool show_progress, std::vector<float>* probabilities) {
  ag::check(batch_size > 0, "evaluate: batch size {} is not positive", batch_size);
  if (indices.empty()) {
    indices.resize(examples.size());
    std::iota(indices.begin(), indices.end(), 0);
  }
  const bool was_training = model.is_training();
  model.eval();
  ag::NoGradGuard no_grad;
  Evaluation e;
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(indices.size()), batches = (n + batch_size - 1) / batch_size;
  ag::train::ProgressBar bar("evaluate", batches, "tok");
  double loss_sum = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const std::vector<int64_t> part(indices.begin() + b * batch_size, indices.begin() + std::min(n, (b + 1) * batch_size));
    const Batch batch = make_batch(examples, part, model.config());
    const ag::Tensor logits = model.forward(batch.ids, batch.lengths).logits;
    loss_sum += ag::binary_cross_entropy_with_logits(logits, batch.labels, ag::Reduction::Sum).item();
    for (int64_t i = 0; i < batch.size(); ++i) {
      if (probabilities) probabilities->push_back(1.0f / (1.0f + std::exp(-logits.data()[i])));
      const bool predicted = logits.data()[i] > 0, actual = batch.labels.data()[i] > 0.5f;
      e.true_positive += predicted && actual;
      e.true_negative += !predicted && !actual;
      e.false_positive += predicted && !actual;
      e.false_negative += !predicted && actual;
    }
    if (show_progress) bar.update(b + 1, "", static_cast<double>((b + 1) * batch_size * model.config().maxlen));
  }
  e.count = n;
  e.loss = n ? loss_sum / static_cast<double>(n) : 0;
  e.accuracy = n ? static_cast<double>(e.true_positive + e.true_negative) / static_cast<double>(n) : 0;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.tokens_per_second = e.seconds > 0 ? static_cast<double>(n * model.config().maxlen) / e.seconds : 0;
  if (show_progress) bar.finish(fmt::format("loss {:.4f}, accuracy {:.2f}%", e.loss, 100 * e.accuracy));
  model.train(was_training);
  return e;
}

}  // namespace imdb

namespace imdb {

Evaluation evaluate_across_ranks(Classifier& model, const Examples& examples, std::vector<int64_t> indices,
                                 int64_t batch_size, bool show_progress) {
  if (ag::dist::world_size() == 1) return evaluate(model, examples, std::move(indices), batch_size, show_progress);
  if (indices.empty()) {
    indices.resize(examples.size());
    std::iota(indices.begin(), indices.end(), 0);
  }
  const ag::dist::Shard s = ag::dist::shard(static_cast<int64_t>(indices.size()));
  const std::vector<int64_t> mine(indices.begin() + s.offset, indices.begin() + s.offset + s.rows);
  Evaluation e = evaluate(model, examples, mine, batch_size, show_progress);
  double sums[6] = {e.loss * static_cast<double>(e.count), static_cast<double>(e.true_positive),
                    static_cast<double>(e.true_negative), static_cast<double>(e.false_positive),
                    static_cast<double>(e.false_negative), static_cast<double>(e.count)};
  ag::dist::allreduce_sum(sums, 6);
  e.count = static_cast<int64_t>(sums[5]);
  e.loss = sums[0] / sums[5];
  e.true_positive = static_cast<int64_t>(sums[1]), e.true_negative = static_cast<int64_t>(sums[2]);
  e.false_positive = static_cast<int64_t>(sums[3]), e.false_negative = static_cast<int64_t>(sums[4]);
  e.accuracy = (sums[1] + sums[2]) / sums[5];
  e.tokens_per_second = e.seconds > 0 ? static_cast<double>(e.count * model.config().maxlen) / e.seconds : 0;
  return e;
}

}  // namespace imdb
