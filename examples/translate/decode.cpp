#include "examples/translate/decode.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "attograd/core/core.h"

namespace translate {

using ag::IntTensor;
using ag::Tensor;

namespace {

// Eval mode and no recording for one decoding call; the model's training mode comes back after.
class DecodingMode {
 public:
  explicit DecodingMode(Seq2Seq& model) : model_(model), training_(model.is_training()) { model.eval(); }
  ~DecodingMode() { model_.train(training_); }
  DecodingMode(const DecodingMode&) = delete;
  DecodingMode& operator=(const DecodingMode&) = delete;

 private:
  Seq2Seq& model_;
  bool training_;
  ag::NoGradGuard no_grad_;
};

void check_max_len(const Seq2Seq& model, int64_t max_len, const char* who) {
  ag::check(max_len >= 1, "{}: max_len must be at least 1, got {}", who, max_len);
  ag::check(max_len <= model.max_steps(), "{}: max_len {} exceeds the {} target positions the model has", who, max_len,
            model.max_steps());
}

bool allowed(int64_t token) { return token != kPad && token != kSos; }

// A hypothesis being extended: its tokens so far, their summed log-probability, and (when asked
// for) the attention row of every step, flattened (steps x src_length).
struct Partial {
  std::vector<int64_t> tokens;
  double score = 0;
  std::vector<float> attention;
};

// Appends the first `length` weights of row `row` of attention (N, S), if attention is wanted.
void append_attention(std::vector<float>& out, const Tensor& attention, int64_t row, int64_t length, bool wanted) {
  if (!wanted) return;
  const float* p = attention.data() + row * attention.size(1);
  out.insert(out.end(), p, p + length);
}

Hypothesis finish(Partial p, bool finished, float alpha, int64_t src_length, bool with_attention) {
  Hypothesis h;
  h.tokens = std::move(p.tokens);
  h.score = p.score;
  h.finished = finished;
  h.normalized = p.score / length_penalty(h.steps(), alpha);
  if (with_attention) h.attention = ag::from_data(std::move(p.attention), {h.steps(), src_length});
  return h;
}

// Best normalized first; ties keep their order (stable), so the result does not depend on the batch.
void sort_best_first(std::vector<Hypothesis>& hypotheses) {
  std::stable_sort(hypotheses.begin(), hypotheses.end(),
                   [](const Hypothesis& a, const Hypothesis& b) { return a.normalized > b.normalized; });
}

}  // namespace

double length_penalty(int64_t length, float alpha) {
  return alpha == 0.0f ? 1.0 : std::pow((5.0 + static_cast<double>(length)) / 6.0, static_cast<double>(alpha));
}

// ---- greedy -------------------------------------------------------------------------------------

std::vector<Hypothesis> greedy_translate(Seq2Seq& model, const IntTensor& src, const IntTensor& src_lengths,
                                         int64_t max_len, bool attention) {
  check_max_len(model, max_len, "greedy_translate");
  DecodingMode mode(model);
  std::unique_ptr<DecoderState> state = model.start(src, src_lengths);
  const int64_t B = src.size(0), V = model.config().trg_vocab;
  std::vector<Partial> partial(B);
  std::vector<Hypothesis> out(B);
  std::vector<int64_t> sentence(B);  // the sentence of each state row
  std::iota(sentence.begin(), sentence.end(), 0);
  IntTensor last = IntTensor::full({B}, kSos);
  for (int64_t t = 0; t < max_len && !sentence.empty(); ++t) {
    const Tensor logp = model.step(*state, last);  // (N, V)
    std::vector<int64_t> keep, next, still;
    for (size_t r = 0; r < sentence.size(); ++r) {
      const int64_t b = sentence[r];
      const float* row = logp.data() + static_cast<int64_t>(r) * V;
      int64_t best = -1;
      for (int64_t v = 0; v < V; ++v)
        if (allowed(v) && (best < 0 || row[v] > row[best])) best = v;
      Partial& p = partial[b];
      p.score += row[best];
      append_attention(p.attention, state->attention, static_cast<int64_t>(r), src_lengths.data()[b], attention);
      const bool eos = best == kEos;
      if (!eos) p.tokens.push_back(best);
      if (eos || t + 1 == max_len) {
        out[b] = finish(std::move(p), eos, 0.0f, src_lengths.data()[b], attention);
        continue;
      }
      keep.push_back(static_cast<int64_t>(r));
      next.push_back(best);
      still.push_back(b);
    }
    if (still.empty()) break;
    if (keep.size() != sentence.size()) model.reorder(*state, keep);
    sentence = std::move(still);
    last = IntTensor(next, {static_cast<int64_t>(next.size())});
  }
  return out;
}

std::vector<std::vector<int64_t>> greedy_decode(Seq2Seq& model, const IntTensor& src, const IntTensor& src_lengths,
                                                int64_t max_len) {
  std::vector<std::vector<int64_t>> out;
  for (Hypothesis& h : greedy_translate(model, src, src_lengths, max_len)) out.push_back(std::move(h.tokens));
  return out;
}

// ---- beam search --------------------------------------------------------------------------------

namespace {

// One extension of a live hypothesis: beam `beam` of its sentence followed by `token`.
struct Candidate {
  double score;
  int64_t beam, token;
};

// Higher score first; ties by beam, then token, so the order never depends on the batch.
bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
}

// The best `count` extensions of the live hypotheses, best first: (live[i], token v) for every
// allowed v with a finite log-probability rows[i * V + v], ranked by `better`. One pass over the
// n x V scores keeping the best so far in a small sorted list: most candidates lose to the worst of
// it at the first comparison, and none is stored.
std::vector<Candidate> best_candidates(const std::vector<Partial>& live, const float* rows, int64_t V, int64_t count) {
  std::vector<Candidate> best;
  best.reserve(count + 1);
  for (int64_t i = 0; i < static_cast<int64_t>(live.size()); ++i) {
    const float* row = rows + i * V;
    const double score = live[i].score;
    for (int64_t v = 0; v < V; ++v) {
      if (!allowed(v) || !std::isfinite(row[v])) continue;
      const Candidate c{score + row[v], i, v};
      if (static_cast<int64_t>(best.size()) == count && !better(c, best.back())) continue;
      best.insert(std::upper_bound(best.begin(), best.end(), c, better), c);
      if (static_cast<int64_t>(best.size()) > count) best.pop_back();
    }
  }
  return best;
}

// What one sentence's search holds between steps.
struct Search {
  std::vector<Partial> live;  // rows of the state, in order
  std::vector<Hypothesis> finished;
  bool done = false;
};

// True when `k` finished hypotheses all reach at least the best normalized score any live one can
// still get: extending a hypothesis only lowers its score (log-probabilities <= 0), and a longer one
// is divided by a larger penalty, so score / length_penalty(max_len) bounds it (alpha >= 0).
bool settled(const Search& s, int64_t k, float alpha, int64_t max_len) {
  if (s.live.empty()) return true;
  if (static_cast<int64_t>(s.finished.size()) < k) return false;
  std::vector<double> normalized;
  for (const Hypothesis& h : s.finished) normalized.push_back(h.normalized);
  std::nth_element(normalized.begin(), normalized.begin() + (k - 1), normalized.end(), std::greater<>());
  double best_live = -INFINITY;
  for (const Partial& p : s.live) best_live = std::max(best_live, p.score / length_penalty(max_len, alpha));
  return normalized[k - 1] >= best_live;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_translate(Seq2Seq& model, const IntTensor& src, const IntTensor& src_lengths,
                                                    const BeamOptions& options) {
  const int64_t k = options.beam_size, max_len = options.max_len;
  const float alpha = options.length_penalty_alpha;
  ag::check(k >= 1, "beam_translate: beam_size must be at least 1, got {}", k);
  ag::check(alpha >= 0.0f, "beam_translate: length_penalty_alpha must be >= 0, got {}", alpha);
  check_max_len(model, max_len, "beam_translate");
  DecodingMode mode(model);
  std::unique_ptr<DecoderState> state = model.start(src, src_lengths);
  const int64_t B = src.size(0), V = model.config().trg_vocab;
  std::vector<Search> searches(B);
  for (Search& s : searches) s.live.resize(1);  // the empty hypothesis, fed <sos>
  IntTensor last = IntTensor::full({B}, kSos);

  for (int64_t t = 0; t < max_len; ++t) {
    const Tensor logp = model.step(*state, last);  // (N, V): rows = live beams of unfinished sentences
    std::vector<int64_t> rows, next;               // the next step's rows (into this step's) and their inputs
    int64_t base = 0;                              // this sentence's first row
    for (int64_t b = 0; b < B; ++b) {
      Search& s = searches[b];
      if (s.done) continue;
      const int64_t n = static_cast<int64_t>(s.live.size()), length = src_lengths.data()[b];
      const std::vector<Candidate> candidates = best_candidates(s.live, logp.data() + base * V, V, 2 * k);
      std::vector<Partial> live;
      std::vector<int64_t> sentence_rows;
      for (auto it = candidates.begin(); it != candidates.end(); ++it) {
        const int64_t rank = it - candidates.begin();
        if (static_cast<int64_t>(live.size()) == k && rank >= k) break;
        const bool eos = it->token == kEos;
        if (eos && rank >= k) continue;
        if (!eos && static_cast<int64_t>(live.size()) == k) continue;
        Partial p;
        p.score = it->score;
        p.tokens = s.live[it->beam].tokens;
        p.attention = s.live[it->beam].attention;
        append_attention(p.attention, state->attention, base + it->beam, length, options.attention);
        if (eos) {
          s.finished.push_back(finish(std::move(p), true, alpha, length, options.attention));
        } else {
          p.tokens.push_back(it->token);
          live.push_back(std::move(p));
          sentence_rows.push_back(base + it->beam);
        }
      }
      base += n;
      if (t + 1 == max_len) {  // out of steps: the live ones end here, unfinished
        for (Partial& p : live) s.finished.push_back(finish(std::move(p), false, alpha, length, options.attention));
        live.clear();
      }
      s.live = std::move(live);
      s.done = settled(s, k, alpha, max_len);
      if (s.done) continue;
      rows.insert(rows.end(), sentence_rows.begin(), sentence_rows.end());
      for (const Partial& p : s.live) next.push_back(p.tokens.back());
    }
    if (rows.empty()) break;
    model.reorder(*state, rows);
    last = IntTensor(next, {static_cast<int64_t>(next.size())});
  }

  std::vector<std::vector<Hypothesis>> out(B);
  for (int64_t b = 0; b < B; ++b) {
    out[b] = std::move(searches[b].finished);
    sort_best_first(out[b]);
    if (static_cast<int64_t>(out[b].size()) > k) out[b].resize(k);
  }
  return out;
}

std::vector<std::vector<int64_t>> beam_search(Seq2Seq& model, const IntTensor& src, const IntTensor& src_lengths,
                                              int64_t beam_size, float length_penalty_alpha, int64_t max_len) {
  BeamOptions options;
  options.beam_size = beam_size;
  options.length_penalty_alpha = length_penalty_alpha;
  options.max_len = max_len;
  std::vector<std::vector<int64_t>> out;
  for (auto& hypotheses : beam_translate(model, src, src_lengths, options))
    out.push_back(hypotheses.empty() ? std::vector<int64_t>{} : std::move(hypotheses.front().tokens));
  return out;
}

}  // namespace translate
