// The autograd tour: a 2-layer MLP learns to separate two interleaved half-moons, trained with
// nothing but core/ (tensors, ops, backward) and a hand-written gradient-descent step.
#include <cmath>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "attograd/core/core.h"

namespace {

using ag::Tensor;

// Two half-moons of n points each: class 0 on the upper arc, class 1 on the lower, shifted arc.
struct Dataset {
  Tensor points;      // (2n, 2)
  ag::IntTensor labels;  // (2n)
};

Dataset make_moons(int64_t n, float noise, ag::Generator& gen) {
  Tensor points = ag::empty({2 * n, 2});
  ag::IntTensor labels({2 * n});
  const Tensor jitter = ag::randn({2 * n, 2}, gen);
  for (int64_t i = 0; i < 2 * n; ++i) {
    const bool lower = i >= n;
    const float t = static_cast<float>(M_PI) * static_cast<float>(i % n) / static_cast<float>(n - 1);
    const float x = lower ? 1.0f - std::cos(t) : std::cos(t);
    const float y = lower ? 0.5f - std::sin(t) : std::sin(t);
    points.data()[2 * i] = x + noise * jitter.data()[2 * i];
    points.data()[2 * i + 1] = y + noise * jitter.data()[2 * i + 1];
    labels.data()[i] = lower ? 1 : 0;
  }
  return {points, labels};
}

float accuracy(const Tensor& logits, const ag::IntTensor& labels) {
  const ag::IntTensor predicted = ag::argmax(logits, -1);
  int64_t right = 0;
  for (int64_t i = 0; i < labels.numel(); ++i) right += predicted.data()[i] == labels.data()[i];
  return static_cast<float>(right) / static_cast<float>(labels.numel());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dot_path = argc > 1 ? argv[1] : "autograd_tour.dot";  // where the graph of a step goes
  ag::set_num_threads(1);  // a model this small is fastest on one thread
  ag::Generator gen(0);
  const Dataset data = make_moons(256, 0.1f, gen);

  // Parameters, with torch.nn.Linear's default initialisation: U(-1/sqrt(in), 1/sqrt(in)).
  const int64_t hidden = 32;
  const float bound1 = 1.0f / std::sqrt(2.0f), bound2 = 1.0f / std::sqrt(static_cast<float>(hidden));
  Tensor w1 = ag::uniform({hidden, 2}, -bound1, bound1, gen).requires_grad_();
  Tensor b1 = ag::uniform({hidden}, -bound1, bound1, gen).requires_grad_();
  Tensor w2 = ag::uniform({2, hidden}, -bound2, bound2, gen).requires_grad_();
  Tensor b2 = ag::uniform({2}, -bound2, bound2, gen).requires_grad_();
  const std::vector<Tensor> params = {w1, b1, w2, b2};

  fmt::print("autograd tour: a 2-layer MLP (2 -> {} -> 2, tanh) on two half-moons ({} points)\n", hidden,
             data.labels.numel());
  fmt::print("{:>6}  {:>10}  {:>9}\n", "step", "loss", "accuracy");
  const int steps = 1000;
  const float lr = 0.5f;
  float first_loss = 0, last_loss = 0, last_accuracy = 0;
  for (int step = 0; step <= steps; ++step) {
    // Forward: the tape records every op.
    Tensor h = ag::tanh(ag::linear(data.points, w1, b1));
    Tensor logits = ag::linear(h, w2, b2);
    Tensor loss = ag::cross_entropy(logits, data.labels);
    if (step == 0) {  // the graph backward is about to walk, as Graphviz DOT (before backward frees it)
      std::ofstream(dot_path) << ag::to_dot(loss, {{"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2}});
      fmt::print("wrote the graph of one step to {} (render it: dot -Tsvg {} -o graph.svg)\n", dot_path, dot_path);
    }

    // Backward: fills p.grad() for every parameter.
    loss.backward();

    // Gradient descent, outside the tape.
    {
      ag::NoGradGuard no_grad;
      for (Tensor p : params) {  // a copy of the handle, not of the data
        p.add_(p.grad(), -lr);   // p -= lr * dL/dp
        p.zero_grad();
      }
    }
    last_loss = loss.item();
    if (step == 0) first_loss = last_loss;
    if (step % 100 == 0) {
      last_accuracy = accuracy(logits, data.labels);
      fmt::print("{:6}  {:10.4f}  {:8.1f}%\n", step, last_loss, 100.0f * last_accuracy);
    }
  }

  // The learned decision regions, as text: '.' is class 0 (upper moon), '#' class 1.
  fmt::print("\ndecision regions over [-1.5, 2.5] x [-1, 1.5]:\n");
  ag::NoGradGuard no_grad;
  for (int row = 0; row < 12; ++row) {
    std::string line;
    for (int col = 0; col < 48; ++col) {
      const float x = -1.5f + 4.0f * static_cast<float>(col) / 47.0f;
      const float y = 1.5f - 2.5f * static_cast<float>(row) / 11.0f;
      Tensor logits = ag::linear(ag::tanh(ag::linear(ag::from_data({x, y}, {1, 2}), w1, b1)), w2, b2);
      line += logits.at({0, 1}) > logits.at({0, 0}) ? '#' : '.';
    }
    fmt::print("  {}\n", line);
  }
  fmt::print("\nsummary: loss {:.4f} -> {:.4f} in {} steps, training accuracy {:.1f}%\n", first_loss, last_loss, steps,
             100.0f * last_accuracy);
  return last_loss < first_loss ? 0 : 1;
}
