#include "examples/translate/evaluate.h"

#include "attograd/dist/dist.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "examples/translate/decode.h"
#include "attograd/train/checkpoint_average.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/train/progress.h"

namespace translate {

LoadedModel load_model(const std::string& checkpoint) {
  const ag::train::Checkpoint c = ag::train::load_checkpoint(checkpoint, /*training_state=*/false);
  const nlohmann::json run = nlohmann::json::parse(c.config, nullptr, /*allow_exceptions=*/false);
  ag::check(run.is_object() && run.contains("model") && c.vocab.count("src") == 1 && c.vocab.count("trg") == 1,
            "{} has no model config or vocabularies (/vocab/src, /vocab/trg); was it written by translate train?",
            checkpoint);
  LoadedModel out;
  TranslationConfig config;
  try {
    config = TranslationConfig::from_json(run.at("model").dump());
  } catch (const ag::Error& e) {
    throw ag::Error(fmt::format("{}: {}", checkpoint, e.what()));
  }
  const auto src_words = static_cast<int64_t>(c.vocab.at("src").size());
  const auto trg_words = static_cast<int64_t>(c.vocab.at("trg").size());
  ag::check(src_words == config.src_vocab && trg_words == config.trg_vocab,
            "{} is inconsistent: its vocabularies have {} and {} words but its model config (and embeddings) {} and {}",
            checkpoint, src_words, trg_words, config.src_vocab, config.trg_vocab);
  out.model = make_model(config);
  out.model->load_state_dict(c.model);
  out.model->eval();
  out.src_vocab = ag::data::Vocab::from_tokens(c.vocab.at("src"), "<unk>");
  out.trg_vocab = ag::data::Vocab::from_tokens(c.vocab.at("trg"), "<unk>");
  try {
    if (run.contains("languages")) {
      out.src_lang = run.at("languages").at("src");
      out.trg_lang = run.at("languages").at("trg");
    }
    if (run.contains("data")) out.data_dir = run.at("data").value("dir", "");
  } catch (const nlohmann::json::exception& e) {
    throw ag::Error(fmt::format("{}: the run's config is damaged ({})", checkpoint, e.what()));
  }
  return out;
}

void average_models(const std::vector<std::string>& checkpoints, const std::string& out) {
  auto model_of = [](const std::string& path) {
    const std::string text = ag::train::load_checkpoint_config(path);  // the config only, not the weights
    const nlohmann::json run = text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
    ag::check(run.contains("model"), "average: {} has no model config; was it written by translate train?",
              path);
    return nlohmann::json{{"model", run.at("model")}, {"languages", run.value("languages", nlohmann::json{})}};
  };
  ag::check(!checkpoints.empty(), "average: no checkpoints given");
  const nlohmann::json first = model_of(checkpoints.front());
  for (size_t i = 1; i < checkpoints.size(); ++i) {
    const nlohmann::json other = model_of(checkpoints[i]);
    ag::check(other == first, "average: {} is another model than {} ({} vs {})", checkpoints[i],
              checkpoints.front(), other.dump(), first.dump());
  }
  ag::train::Checkpoint c = ag::train::average_checkpoints(checkpoints);
  nlohmann::json config = nlohmann::json::parse(c.config);
  config["averaged_from"] = checkpoints;
  c.config = config.dump();
  ag::train::save_checkpoint(out, c);
}

LossResult evaluate_loss(Seq2Seq& model, const Pairs& pairs, int64_t max_tokens, bool across_ranks) {
  const bool was_training = model.is_training();
  model.eval();
  ag::NoGradGuard no_grad;
  LossResult r;
  double sum = 0;
  const int rank = across_ranks ? ag::dist::rank() : 0, world = across_ranks ? ag::dist::world_size() : 1;
  const std::vector<std::vector<int64_t>> batches = epoch_batches(pairs, max_tokens, 0, 0);
  for (size_t k = static_cast<size_t>(rank); k < batches.size(); k += static_cast<size_t>(world)) {
    const Batch b = make_batch(pairs, batches[k]);
    const ag::Tensor logits = model.forward(b.src, b.src_lengths, b.trg_in);
    sum += ag::cross_entropy(logits, b.trg_out, kPad, 0.0f, ag::Reduction::Sum).item();
    for (int64_t i = 0; i < b.trg_out.numel(); ++i) r.tokens += b.trg_out.data()[i] != kPad;
  }
  model.train(was_training);
  if (world > 1) {
    double sums[2] = {sum, static_cast<double>(r.tokens)};
    ag::dist::allreduce_sum(sums, 2);
    sum = sums[0], r.tokens = static_cast<int64_t>(sums[1]);
  }
  r.loss = r.tokens ? sum / static_cast<double>(r.tokens) : 0;
  r.perplexity = std::exp(r.loss);
  return r;
}

std::vector<std::vector<std::string>> translate_sentences(Seq2Seq& model, const ag::data::Vocab& src_vocab,
                                                          const ag::data::Vocab& trg_vocab,
                                                          const std::vector<std::vector<std::string>>& sources,
                                                          int64_t beam, int64_t batch, bool show_progress) {
  ag::check(batch > 0, "translate_sentences: batch size {} is not positive", batch);
  const int64_t n = static_cast<int64_t>(sources.size());
  const int64_t limit = model.config().arch == "transformer" ? model.config().max_len : 100000;
  std::vector<std::vector<int64_t>> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = encode_source(sources[i], src_vocab, limit);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a].size() < ids[b].size(); });
  std::vector<std::vector<std::string>> out(n);
  const int64_t batches = (n + batch - 1) / batch;
  std::unique_ptr<ag::train::ProgressBar> bar;
  if (show_progress) bar = std::make_unique<ag::train::ProgressBar>(beam > 1 ? "beam search" : "greedy", batches, "sent");
  for (int64_t k = 0; k < batches; ++k) {
    const int64_t begin = k * batch, end = std::min(n, begin + batch);
    Pairs p;
    std::vector<int64_t> rows;
    int64_t longest = 0;
    for (int64_t i = begin; i < end; ++i) {
      p.src.push_back(ids[order[i]]);
      p.trg.emplace_back();
      rows.push_back(i - begin);
      longest = std::max<int64_t>(longest, static_cast<int64_t>(ids[order[i]].size()));
    }
    const Batch b = make_batch(p, rows);
    const int64_t max_len = std::min<int64_t>(model.max_steps(), 2 * longest + 10);
    const std::vector<std::vector<int64_t>> decoded =
        beam > 1 ? beam_search(model, b.src, b.src_lengths, beam, 0.6f, max_len)
                 : greedy_decode(model, b.src, b.src_lengths, max_len);
    for (int64_t i = begin; i < end; ++i) out[order[i]] = decode_words(decoded[i - begin], trg_vocab);
    if (bar) bar->update(k + 1, "", static_cast<double>(end));
  }
  if (bar) bar->finish();
  return out;
}

Evaluation evaluate_bleu(Seq2Seq& model, const ag::data::Vocab& src_vocab, const ag::data::Vocab& trg_vocab,
                         const ag::data::ParallelCorpus& corpus, int64_t beam, int64_t batch, bool show_progress,
                         bool across_ranks) {
  const auto start = std::chrono::steady_clock::now();
  Evaluation e;
  if (!across_ranks || ag::dist::world_size() == 1) {
    e.hypotheses = translate_sentences(model, src_vocab, trg_vocab, corpus.source, beam, batch, show_progress);
    e.bleu = ag::train::corpus_bleu(e.hypotheses, corpus.target);
  } else {
    const ag::dist::Shard s = ag::dist::shard(corpus.size());
    const auto first = static_cast<std::ptrdiff_t>(s.offset), last = static_cast<std::ptrdiff_t>(s.offset + s.rows);
    const std::vector<std::vector<std::string>> sources(corpus.source.begin() + first, corpus.source.begin() + last);
    e.hypotheses = translate_sentences(model, src_vocab, trg_vocab, sources, beam, batch, show_progress);
    ag::train::BleuCounts counts;
    for (int64_t i = 0; i < s.rows; ++i)
      counts += ag::train::sentence_counts(e.hypotheses[static_cast<size_t>(i)], corpus.target[static_cast<size_t>(first + i)]);
    // Every count is an integer far below 2^53: exact as a double sum.
    double sums[10] = {static_cast<double>(counts.hypothesis_length), static_cast<double>(counts.reference_length)};
    for (int n = 0; n < 4; ++n)
      sums[2 + n] = static_cast<double>(counts.matches[n]), sums[6 + n] = static_cast<double>(counts.totals[n]);
    ag::dist::allreduce_sum(sums, 10);
    counts.hypothesis_length = static_cast<int64_t>(sums[0]), counts.reference_length = static_cast<int64_t>(sums[1]);
    for (int n = 0; n < 4; ++n)
      counts.matches[n] = static_cast<int64_t>(sums[2 + n]), counts.totals[n] = static_cast<int64_t>(sums[6 + n]);
    e.bleu = ag::train::bleu_from_counts(counts);
  }
  e.sentences = corpus.size();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

void write_hypotheses(const std::string& path, const std::vector<std::vector<std::string>>& hypotheses) {
  std::string text;
  for (const auto& words : hypotheses) {
    for (size_t i = 0; i < words.size(); ++i) (text += i ? " " : "") += words[i];
    text += '\n';
  }
  ag::write_file_atomically(path, text);
}

}  // namespace translate
