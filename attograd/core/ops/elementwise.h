#pragma once
// Elementwise ops: arithmetic with NumPy broadcasting, and the unary math functions.

#include "attograd/core/tensor.h"

namespace ag {

/// a + b with broadcasting (torch.add).
Tensor add(const Tensor& a, const Tensor& b);
/// a - b with broadcasting (torch.sub).
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b with broadcasting (torch.mul).
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b with broadcasting (torch.div).
Tensor div(const Tensor& a, const Tensor& b);

/// x + s, x * s, and s / x for a scalar s (their - and / cousins are below, as operators).
Tensor add(const Tensor& x, float s);
Tensor mul(const Tensor& x, float s);
Tensor rdiv(float s, const Tensor& x);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
/// Natural log (torch.log); log(0) = -inf as in torch.
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// x ** p for a scalar exponent (torch.pow(x, p)).
Tensor pow(const Tensor& x, float p);
/// |x|; its gradient at 0 is 0, as torch's.
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// max(x, 0); gradient 0 at 0, as torch's.
Tensor relu(const Tensor& x);
/// x * Phi(x) with the exact erf form (torch.nn.functional.gelu, approximate='none').
Tensor gelu(const Tensor& x);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, float s) { return add(x, s); }
inline Tensor operator+(float s, const Tensor& x) { return add(x, s); }
inline Tensor operator-(const Tensor& x, float s) { return add(x, -s); }
inline Tensor operator-(float s, const Tensor& x) { return add(neg(x), s); }
inline Tensor operator*(const Tensor& x, float s) { return mul(x, s); }
inline Tensor operator*(float s, const Tensor& x) { return mul(x, s); }
inline Tensor operator/(const Tensor& x, float s) { return mul(x, 1.0f / s); }
inline Tensor operator/(float s, const Tensor& x) { return rdiv(s, x); }

}  // namespace ag
