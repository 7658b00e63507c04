#include "attograd/nn/positional_encoding.h"

#include <cmath>

#include "attograd/core/error.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/nn/init.h"

namespace ag::nn {

namespace {
void check_input(const Tensor& x, int64_t d_model, int64_t max_len, const char* layer) {
  check(x.defined() && x.dim() == 3 && x.size(2) == d_model, "{}: x {} must be (B, T, d_model = {})", layer,
        x.defined() ? x.shape() : Shape{}, d_model);
  check(x.size(1) <= max_len, "{}: sequence length {} of x {} exceeds max_len {}", layer, x.size(1), x.shape(),
        max_len);
}
}  // namespace

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len)
    : d_model_(d_model), max_len_(max_len) {
  check(d_model > 0 && max_len > 0, "SinusoidalPositionalEncoding: d_model {} and max_len {} must be positive", d_model,
        max_len);
  pe_ = empty({max_len, d_model});
  for (int64_t pos = 0; pos < max_len; ++pos)
    for (int64_t j = 0; j < d_model; ++j) {  // dims 2i and 2i+1 share the frequency 10000^(-2i/d)
      const double angle = static_cast<double>(pos) * std::pow(10000.0, -static_cast<double>(j - j % 2) / d_model);
      pe_.data()[pos * d_model + j] = static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) {
  check_input(x, d_model_, max_len_, "SinusoidalPositionalEncoding");
  return x + (x.size(1) == max_len_ ? pe_ : narrow(pe_, 0, 0, x.size(1)));
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d_model)
    : max_len_(max_len), d_model_(d_model) {
  check(d_model > 0 && max_len > 0, "LearnedPositionalEncoding: max_len {} and d_model {} must be positive", max_len,
        d_model);
  weight = register_parameter("weight", empty({max_len, d_model}));
  init::normal_(weight, 0.0f, 0.02f);
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x) {
  check_input(x, d_model_, max_len_, "LearnedPositionalEncoding");
  return x + (x.size(1) == max_len_ ? weight : narrow(weight, 0, 0, x.size(1)));
}

}  // namespace ag::nn
