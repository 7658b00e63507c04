#include "attograd/nn/init.h"

#include <cmath>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"

namespace ag::nn::init {

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w) {
  check(w.dim() >= 2, "init: fan in and fan out need a weight of at least 2 dims, got {}", w.shape());
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.shape()[d];
  return {w.shape()[1] * receptive, w.shape()[0] * receptive};
}

float calculate_gain(const std::string& nonlinearity, float param) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid") return 1.0f;
  if (nonlinearity == "tanh") return 5.0f / 3.0f;
  if (nonlinearity == "relu") return std::sqrt(2.0f);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0f / (1.0f + param * param));
  if (nonlinearity == "selu") return 3.0f / 4.0f;
  throw Error(fmt::format("calculate_gain: unknown nonlinearity '{}'", nonlinearity));
}

namespace {
int64_t fan(const Tensor& w, const std::string& mode) {
  const auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  check(mode == "fan_in" || mode == "fan_out", "init: mode must be 'fan_in' or 'fan_out', got '{}'", mode);
  return mode == "fan_in" ? fan_in : fan_out;
}
}  // namespace

// Writes happen under NoGradGuard: parameters require grad, and init is not part of the model.
void uniform_(Tensor& w, float low, float high, Generator& gen) {
  NoGradGuard no_grad;
  w.copy_(uniform(w.shape(), low, high, gen));
}

void normal_(Tensor& w, float mean, float std, Generator& gen) {
  NoGradGuard no_grad;
  w.copy_(normal(w.shape(), mean, std, gen));
}

void constant_(Tensor& w, float value) {
  NoGradGuard no_grad;
  w.fill_(value);
}

void zeros_(Tensor& w) { constant_(w, 0.0f); }
void ones_(Tensor& w) { constant_(w, 1.0f); }

void xavier_uniform_(Tensor& w, float gain, Generator& gen) {
  const auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  const float a = gain * std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
  uniform_(w, -a, a, gen);
}

void xavier_normal_(Tensor& w, float gain, Generator& gen) {
  const auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  normal_(w, 0.0f, gain * std::sqrt(2.0f / static_cast<float>(fan_in + fan_out)), gen);
}

void kaiming_uniform_(Tensor& w, float a, const std::string& mode, const std::string& nonlinearity, Generator& gen) {
  const float bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0f / static_cast<float>(fan(w, mode)));
  uniform_(w, -bound, bound, gen);
}

void kaiming_normal_(Tensor& w, float a, const std::string& mode, const std::string& nonlinearity, Generator& gen) {
  normal_(w, 0.0f, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<float>(fan(w, mode))), gen);
}

void orthogonal_(Tensor& w, float gain, Generator& gen) {
  check(w.dim() >= 2, "orthogonal_: needs a weight of at least 2 dims, got {}", w.shape());
  const int64_t rows = w.shape()[0], cols = w.numel() / rows;
  // Orthonormalise the shorter side: q holds `small` vectors of length `large` (modified Gram-Schmidt,
  // in double); a vector that comes out (numerically) dependent is redrawn.
  const bool wide = rows <= cols;
  const int64_t small = wide ? rows : cols, large = wide ? cols : rows;
  std::vector<double> q(static_cast<size_t>(small * large));
  for (int64_t i = 0; i < small; ++i) {
    double* v = &q[i * large];
    for (double norm = 0; norm < 1e-6;) {
      const Tensor sample = randn({large}, gen);
      for (int64_t k = 0; k < large; ++k) v[k] = sample.data()[k];
      for (int64_t j = 0; j < i; ++j) {
        const double* u = &q[j * large];
        double dot = 0;
        for (int64_t k = 0; k < large; ++k) dot += v[k] * u[k];
        for (int64_t k = 0; k < large; ++k) v[k] -= dot * u[k];
      }
      norm = 0;
      for (int64_t k = 0; k < large; ++k) norm += v[k] * v[k];
      norm = std::sqrt(norm);
      if (norm >= 1e-6)
        for (int64_t k = 0; k < large; ++k) v[k] /= norm;
    }
  }
  NoGradGuard no_grad;
  Tensor out = empty(w.shape());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out.data()[r * cols + c] = gain * static_cast<float>(wide ? q[r * large + c] : q[c * large + r]);
  w.copy_(out);
}

}  // namespace ag::nn::init
