#include "attograd/core/ops/elementwise.h"

#include <cmath>

#include "attograd/core/autograd.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"

namespace ag {

// ---- binary, with broadcasting ------------------------------------------------------------------
// Backward functions return gradients in the broadcast (output) shape; the engine sums them back to
// each input's shape.

// z = a + b;  da = dz, db = dz
Tensor add(const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("add", {&a, &b});
  Tensor z = kernels::broadcast(a, b, "add", [](float x, float y) { return x + y; });
  return record("add", {a, b}, z, [](const Tensor& dz) { return Grads{dz, dz}; });
}

// z = a - b;  da = dz, db = -dz
Tensor sub(const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("sub", {&a, &b});
  Tensor z = kernels::broadcast(a, b, "sub", [](float x, float y) { return x - y; });
  return record("sub", {a, b}, z, [need_b = b.requires_grad()](const Tensor& dz) {
    return Grads{dz, need_b ? neg(dz) : Tensor()};
  });
}

// z = a * b;  da = dz * b, db = dz * a
Tensor mul(const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("mul", {&a, &b});
  Tensor z = kernels::broadcast(a, b, "mul", [](float x, float y) { return x * y; });
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("mul", {a, b}, z,
                [sa = Saved(need_b ? a : Tensor()), sb = Saved(need_a ? b : Tensor())](const Tensor& dz) {
                  return Grads{sb->defined() ? dz * *sb : Tensor(), sa->defined() ? dz * *sa : Tensor()};
                });
}

// z = a / b;  da = dz / b, db = -dz * a / b^2 = -dz * z / b
Tensor div(const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("div", {&a, &b});
  Tensor z = kernels::broadcast(a, b, "div", [](float x, float y) { return x / y; });
  return record("div", {a, b}, z,
                [sb = Saved(b), sz = Saved(b.requires_grad() ? z : Tensor())](const Tensor& dz) {
                  Tensor da = dz / *sb;
                  return Grads{da, sz->defined() ? neg(da * *sz) : Tensor()};
                });
}

// ---- with a scalar ------------------------------------------------------------------------------

// y = x + s;  dx = dy
Tensor add(const Tensor& x, float s) {
  const profile::OpScope scope("add", {&x});
  Tensor y = kernels::map(x, [s](float v) { return v + s; });
  return record("add", {x}, y, [](const Tensor& dy) { return Grads{dy}; });
}

// y = x * s;  dx = dy * s
Tensor mul(const Tensor& x, float s) {
  const profile::OpScope scope("mul", {&x});
  Tensor y = kernels::map(x, [s](float v) { return v * s; });
  return record("mul", {x}, y, [s](const Tensor& dy) { return Grads{dy * s}; });
}

// y = s / x;  dx = -dy * s / x^2 = -dy * y / x
Tensor rdiv(float s, const Tensor& x) {
  const profile::OpScope scope("rdiv", {&x});
  Tensor y = kernels::map(x, [s](float v) { return s / v; });
  return record("rdiv", {x}, y, [sx = Saved(x), sy = Saved(y)](const Tensor& dy) {
    Tensor t = kernels::zip(*sy, *sx, [](float yv, float xv) { return -yv / xv; });
    return Grads{dy * t};
  });
}

// ---- unary --------------------------------------------------------------------------------------
// Each backward is one fused pass: dx[i] = dy[i] * f'(...) computed by kernels::zip.

// y = -x;  dx = -dy
Tensor neg(const Tensor& x) {
  const profile::OpScope scope("neg", {&x});
  Tensor y = kernels::map(x, [](float v) { return -v; });
  return record("neg", {x}, y, [](const Tensor& dy) { return Grads{neg(dy)}; });
}

// y = e^x;  dx = dy * y
Tensor exp(const Tensor& x) {
  const profile::OpScope scope("exp", {&x});
  Tensor y = kernels::map(x, [](float v) { return std::exp(v); });
  return record("exp", {x}, y, [sy = Saved(y)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sy, [](float g, float yv) { return g * yv; })};
  });
}

// y = ln x;  dx = dy / x
Tensor log(const Tensor& x) {
  const profile::OpScope scope("log", {&x});
  Tensor y = kernels::map(x, [](float v) { return std::log(v); });
  return record("log", {x}, y, [sx = Saved(x)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sx, [](float g, float xv) { return g / xv; })};
  });
}

// y = sqrt(x);  dx = dy / (2 y)
Tensor sqrt(const Tensor& x) {
  const profile::OpScope scope("sqrt", {&x});
  Tensor y = kernels::map(x, [](float v) { return std::sqrt(v); });
  return record("sqrt", {x}, y, [sy = Saved(y)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sy, [](float g, float yv) { return g * 0.5f / yv; })};
  });
}

// y = x^p;  dx = dy * p * x^(p-1)
Tensor pow(const Tensor& x, float p) {
  const profile::OpScope scope("pow", {&x});
  Tensor y = p == 2.0f ? kernels::map(x, [](float v) { return v * v; })
                       : kernels::map(x, [p](float v) { return std::pow(v, p); });
  return record("pow", {x}, y, [sx = Saved(x), p](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sx, [p](float g, float xv) { return g * p * std::pow(xv, p - 1.0f); })};
  });
}

// y = |x|;  dx = dy * sign(x)  (sign(0) = 0)
Tensor abs(const Tensor& x) {
  const profile::OpScope scope("abs", {&x});
  Tensor y = kernels::map(x, [](float v) { return std::fabs(v); });
  return record("abs", {x}, y, [sx = Saved(x)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sx, [](float g, float xv) { return xv > 0 ? g : (xv < 0 ? -g : 0.0f); })};
  });
}

// y = tanh(x);  dx = dy * (1 - y^2)
Tensor tanh(const Tensor& x) {
  const profile::OpScope scope("tanh", {&x});
  Tensor y = kernels::map(x, [](float v) { return std::tanh(v); });
  return record("tanh", {x}, y, [sy = Saved(y)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sy, [](float g, float yv) { return g * (1.0f - yv * yv); })};
  });
}

// y = 1 / (1 + e^-x);  dx = dy * y * (1 - y)
Tensor sigmoid(const Tensor& x) {
  const profile::OpScope scope("sigmoid", {&x});
  Tensor y = kernels::map(x, kernels::stable_sigmoid);
  return record("sigmoid", {x}, y, [sy = Saved(y)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sy, [](float g, float yv) { return g * yv * (1.0f - yv); })};
  });
}

// y = max(x, 0);  dx = dy * [x > 0]
Tensor relu(const Tensor& x) {
  const profile::OpScope scope("relu", {&x});
  Tensor y = kernels::map(x, [](float v) { return v > 0 ? v : 0.0f; });
  return record("relu", {x}, y, [sy = Saved(y)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sy, [](float g, float yv) { return yv > 0 ? g : 0.0f; })};
  });
}

// y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dx = dy * (Phi(x) + x * phi(x)),
// phi(x) = e^(-x^2/2) / sqrt(2 pi)
Tensor gelu(const Tensor& x) {
  const profile::OpScope scope("gelu", {&x});
  constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
  Tensor y = kernels::map(x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
  return record("gelu", {x}, y, [sx = Saved(x)](const Tensor& dy) {
    return Grads{kernels::zip(dy, *sx, [](float g, float v) {
      const float cdf = 0.5f * (1.0f + std::erf(v * kInvSqrt2));
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
      return g * (cdf + v * pdf);
    })};
  });
}

}  // namespace ag
