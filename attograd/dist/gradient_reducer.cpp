#include "attograd/dist/gradient_reducer.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "attograd/core/error.h"

namespace ag::dist {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void average_gradients(const NamedTensors& params) {
  const int n = world_size();
  if (n == 1) return;
  NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    TensorImpl& impl = *p.impl();
    if (!impl.grad.defined()) impl.grad = zeros(p.shape());
    float* g = impl.grad.mutable_data();
    allreduce_sum(g, impl.grad.numel());
    for (int64_t i = 0; i < impl.grad.numel(); ++i) g[i] /= static_cast<float>(n);
  }
}

GradientReducer::GradientReducer(const NamedTensors& params, int64_t bucket_bytes, bool overlap) : overlap_(overlap) {
  check(bucket_bytes > 0, "GradientReducer: bucket size {} bytes is not positive", bucket_bytes);
  std::unordered_set<TensorImpl*> seen;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {  // backward finishes the last layers first
    const Tensor& t = it->second;
    check(t.defined() && t.requires_grad(), "GradientReducer: parameter '{}' does not require grad", it->first);
    if (!seen.insert(t.impl()).second) continue;
    if (buckets_.empty() || static_cast<int64_t>(buckets_.back().data.size() * sizeof(float)) >= bucket_bytes)
      buckets_.emplace_back();
    Bucket& b = buckets_.back();
    const int p = static_cast<int>(params_.size());
    params_.push_back({t, static_cast<int>(buckets_.size() - 1), static_cast<int64_t>(b.data.size()), false});
    b.params.push_back(p);
    b.data.resize(b.data.size() + static_cast<size_t>(t.numel()));
    index_[t.impl()] = p;
    stats_.bytes += t.numel() * static_cast<int64_t>(sizeof(float));
  }
}

void GradientReducer::backward(const Tensor& loss, double scale) {
  if (!sync_) return loss.backward();
  if (world_size() == 1) {
    loss.backward();
    if (scale != 1) {
      NoGradGuard no_grad;
      for (const Param& p : params_)
        if (Tensor g = p.tensor.grad(); g.defined()) g.mul_(static_cast<float>(scale));
    }
    return;
  }
  scale_ = static_cast<float>(scale);
  const auto start = std::chrono::steady_clock::now();
  {
    BackwardObserverGuard observe(this);
    try {
      loss.backward();
    } catch (...) {
      // The other ranks' allreduces must still be matched, or they wait forever: finish first.
      finish();
      throw;
    }
  }
  stats_.backward_seconds += seconds_since(start);
  const auto wait_start = std::chrono::steady_clock::now();
  finish();
  stats_.wait_seconds += seconds_since(wait_start);
  ++stats_.steps;
}

void GradientReducer::begin(const std::vector<TensorImpl*>& leaves) {
  for (Param& p : params_) p.ready = false;
  for (Bucket& b : buckets_) b.pending = static_cast<int64_t>(b.params.size());
  next_to_start_ = next_to_test_ = 0;
  // Parameters this graph cannot reach get no gradient from it: ready now, with what they hold.
  std::unordered_set<TensorImpl*> reached(leaves.begin(), leaves.end());
  for (int p = 0; p < static_cast<int>(params_.size()); ++p)
    if (!reached.count(params_[p].tensor.impl())) mark_ready(p);
}

void GradientReducer::leaf_ready(TensorImpl& leaf) {
  if (auto it = index_.find(&leaf); it != index_.end()) mark_ready(it->second);
}

void GradientReducer::after_node() {
  while (next_to_test_ < next_to_start_ && buckets_[next_to_test_].request.test()) ++next_to_test_;
}

// The scaled gradient (zeros where there is none) goes into the bucket's buffer.
void GradientReducer::mark_ready(int p) {
  Param& param = params_[p];
  if (param.ready) return;
  param.ready = true;
  Bucket& b = buckets_[param.bucket];
  float* out = b.data.data() + param.offset;
  const int64_t n = param.tensor.numel();
  if (const Tensor g = param.tensor.grad(); g.defined()) {
    const float* in = g.data();
    for (int64_t i = 0; i < n; ++i) out[i] = in[i] * scale_;
  } else {
    std::fill_n(out, n, 0.0f);
  }
  if (--b.pending == 0 && overlap_) start_ready_buckets();
}

void GradientReducer::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].pending == 0) {
    Bucket& b = buckets_[next_to_start_++];
    b.request = iallreduce_sum(b.data.data(), static_cast<int64_t>(b.data.size()));
  }
}

void GradientReducer::finish() {
  for (int p = 0; p < static_cast<int>(params_.size()); ++p) mark_ready(p);  // a backward that never began
  start_ready_buckets();  // all of them without the overlap
  NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    b.request.wait();
    for (int p : b.params) {
      Param& param = params_[p];
      TensorImpl& impl = *param.tensor.impl();
      if (!impl.grad.defined()) impl.grad = zeros(param.tensor.shape());
      std::copy_n(b.data.data() + param.offset, param.tensor.numel(), impl.grad.mutable_data());
    }
  }
}

}  // namespace ag::dist
