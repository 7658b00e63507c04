#pragma once
// `translate eval`: loss, perplexity and BLEU of a model on a corpus, and loading a trained model.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attograd/data/parallel_corpus.h"
#include "attograd/data/vocab.h"
#include "examples/translate/dataset.h"
#include "examples/translate/model.h"
#include "attograd/train/bleu.h"

namespace translate {

/// A model with its vocabularies and languages, from a checkpoint written by `translate train`.
struct LoadedModel {
  std::shared_ptr<Seq2Seq> model;
  ag::data::Vocab src_vocab, trg_vocab;
  std::string src_lang = "de", trg_lang = "en";
  std::string data_dir;  // the corpus folder the run trained on ("" when the config names none)
};
LoadedModel load_model(const std::string& checkpoint);

/// `translate average`: the mean of the weights of checkpoints of one model (attograd/nn/checkpoint_average.h),
/// written to `out` as an eval-only checkpoint whose config lists the files under "averaged_from".
/// Raises ag::Error naming the first file whose model config or languages differ from the first's.
void average_models(const std::vector<std::string>& checkpoints, const std::string& out);

/// Mean target-token NLL (no label smoothing, padding ignored) under teacher forcing, in eval mode
/// without recording; perplexity = exp(loss).
struct LossResult {
  double loss = 0, perplexity = 0;
  int64_t tokens = 0;
};
/// With `across_ranks` (a distributed run, ag::dist), rank r takes batches r, r + N, ... and the
/// sums are reduced: every rank gets the loss of all pairs.
LossResult evaluate_loss(Seq2Seq& model, const Pairs& pairs, int64_t max_tokens, bool across_ranks = false);

/// Translates tokenised sentences in batches of up to `batch` (similar lengths together): greedy
/// when beam <= 1, else beam search (alpha 0.6). Returns target words in the input order; the
/// decoding limit per sentence is 2 x its source length + 10 (capped by the model).
std::vector<std::vector<std::string>> translate_sentences(Seq2Seq& model, const ag::data::Vocab& src_vocab,
                                                          const ag::data::Vocab& trg_vocab,
                                                          const std::vector<std::vector<std::string>>& sources,
                                                          int64_t beam = 1, int64_t batch = 64,
                                                          bool show_progress = false);

struct Evaluation {
  ag::train::Bleu bleu;
  std::vector<std::vector<std::string>> hypotheses;
  int64_t sentences = 0;
  double seconds = 0;
};
/// BLEU of the model's translations of corpus.source against corpus.target. With `across_ranks`
/// (a distributed run), each rank translates its shard of the sentences (ag::dist::shard) and the
/// BLEU counts are summed over the ranks before BLEU is taken (corpus BLEU of the whole, not a mean
/// of BLEUs); `hypotheses` then holds this rank's part only.
Evaluation evaluate_bleu(Seq2Seq& model, const ag::data::Vocab& src_vocab, const ag::data::Vocab& trg_vocab,
                         const ag::data::ParallelCorpus& corpus, int64_t beam = 1, int64_t batch = 64,
                         bool show_progress = false, bool across_ranks = false);

/// Writes one hypothesis per line (words joined by spaces); raises when the file cannot be written.
void write_hypotheses(const std::string& path, const std::vector<std::vector<std::string>>& hypotheses);

}  // namespace translate
