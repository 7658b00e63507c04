#include "attograd/train/finite.h"

#include <cmath>
#include <limits>

#include "attograd/core/error.h"
#include "attograd/optim/clip.h"

namespace ag::train {

namespace {
constexpr const char* kAdvice =
    "training stopped before any checkpoint took it (last.h5, where the run has one, holds the last good "
    "state); lower --lr or set --clip, and --detect-anomaly names the op that made the first NaN or Inf";

const char* name_of(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }
}  // namespace

void check_finite_loss(double loss, int64_t step) {
  check(std::isfinite(loss), "step {}: the loss is {}; {}", step, name_of(loss), kAdvice);
}

double clip_and_check_gradients(const nn::NamedTensors& params, double max_norm, int64_t step) {
  try {
    // clip_grad_norm_ refuses a non-finite norm before it changes anything; an infinite max_norm
    // only measures.
    return optim::clip_grad_norm_(params, max_norm > 0 ? max_norm : std::numeric_limits<double>::infinity());
  } catch (const Error& e) {
    throw Error(fmt::format("step {}: {}; {}", step, e.what(), kAdvice));
  }
}

void check_finite_weights(const nn::NamedTensors& params, int64_t step) {
  for (const auto& [name, p] : params) {
    const float* d = p.data();
    for (int64_t i = 0; i < p.numel(); ++i)
      check(std::isfinite(d[i]), "step {}: the update made '{}' {} at flat index {}; {}", step, name, name_of(d[i]), i,
            kAdvice);
  }
}

}  // namespace ag::train
