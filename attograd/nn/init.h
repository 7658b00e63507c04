#pragma once
// Parameter initialisation, as torch.nn.init: each fills a tensor in place from a generator.

#include <string>

#include "attograd/core/random.h"
#include "attograd/core/tensor.h"

namespace ag::nn::init {

/// (fan_in, fan_out) of a weight: (in, out) for a 2-D (out, in) matrix; receptive field included beyond.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w);
/// Recommended gain for a nonlinearity: "linear"/"sigmoid" 1, "tanh" 5/3, "relu" sqrt 2,
/// "leaky_relu" sqrt(2 / (1 + a^2)) (torch.nn.init.calculate_gain).
float calculate_gain(const std::string& nonlinearity, float param = 0.01f);

void uniform_(Tensor& w, float low, float high, Generator& gen = default_generator());
void normal_(Tensor& w, float mean, float std, Generator& gen = default_generator());
void constant_(Tensor& w, float value);
void zeros_(Tensor& w);
void ones_(Tensor& w);
/// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(Tensor& w, float gain = 1.0f, Generator& gen = default_generator());
/// N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(Tensor& w, float gain = 1.0f, Generator& gen = default_generator());
/// U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a), fan = fan_in or
/// fan_out ("fan_in" / "fan_out").
void kaiming_uniform_(Tensor& w, float a = 0.0f, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());
/// N(0, s^2), s = gain / sqrt(fan).
void kaiming_normal_(Tensor& w, float a = 0.0f, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());

/// A (semi-)orthogonal matrix scaled by gain: the rows (or, for a tall matrix, the columns) of w
/// viewed as (rows, cols) are orthonormal; from Gram-Schmidt on a normal sample (torch.nn.init.orthogonal_).
void orthogonal_(Tensor& w, float gain = 1.0f, Generator& gen = default_generator());

}  // namespace ag::nn::init
