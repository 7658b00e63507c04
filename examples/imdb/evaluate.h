#pragma once
// Loss, accuracy and confusion matrix of the classifier on a set of examples.

#include <vector>

#include "examples/imdb/dataset.h"
#include "examples/imdb/model.h"

namespace imdb {

struct Evaluation {
  double loss = 0;      // mean BCE-with-logits
  double accuracy = 0;  // fraction of correct labels at threshold 0.5
  int64_t true_positive = 0, true_negative = 0, false_positive = 0, false_negative = 0;
  int64_t count = 0;
  double seconds = 0;
  double tokens_per_second = 0;  // batch x maxlen ids per second
};

/// Runs the model in eval mode, without recording, over `indices` of `examples` (all when empty).
/// When `probabilities` is given it receives P(positive) of each example, in the order of indices.
Evaluation evaluate(Classifier& model, const Examples& examples, std::vector<int64_t> indices, int64_t batch_size,
                    bool show_progress = false, std::vector<float>* probabilities = nullptr);

/// evaluate() split over the ranks of a distributed run (ag::dist): each evaluates its part of
/// `indices` (all when empty) and the counts and loss sums are summed, so every rank gets the
/// evaluation of the whole set. Alone it is evaluate().
Evaluation evaluate_across_ranks(Classifier& model, const Examples& examples, std::vector<int64_t> indices,
                                 int64_t batch_size, bool show_progress = false);

}  // namespace imdb
