#pragma once
// GradientReducer: sums the ranks' gradients while backward is still running (PyTorch
// DistributedDataParallel's reducer). The parameters are grouped into buckets of about
// `bucket_bytes`, in reverse order of registration, which is roughly the order backward finishes
// them; when the last gradient of a bucket is final (the engine's BackwardObserver says so), the
// bucket is copied into its flat buffer and a nonblocking allreduce starts on it, while backward
// goes on with the layers below. Buckets start in index order on every rank (MPI wants the same
// collectives in the same order everywhere), and between backward nodes the reducer tests the
// oldest one in flight: that call is what moves Open MPI's nonblocking collectives forward, since
// they progress only inside MPI calls. finish() (at the end of backward()) waits for the rest and
// writes the sums back into the gradients.
//
// The sum is of each rank's gradient times its `scale`, its share of the global denominator (the
// batch's examples or tokens on this rank over all ranks'), so the result is the gradient of one
// process that saw the whole global batch, not a mean of means. A parameter that got no gradient
// in a step (a branch not taken) counts as ready with zeros, so no bucket waits forever, and after
// the reduction it holds the other ranks' gradient like every other parameter.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/named_tensors.h"
#include "attograd/dist/dist.h"

namespace ag::dist {

/// The simplest data-parallel step, after backward (pytorch/examples' dist-mnist): each gradient
/// summed over the ranks in one blocking allreduce and divided by the world size, a parameter
/// without a gradient counting as zeros. Right when every rank's loss is a mean over the same
/// number of examples; GradientReducer does it weighted and overlapped with backward.
void average_gradients(const NamedTensors& params);

class GradientReducer : private BackwardObserver {
 public:
  static constexpr int64_t kDefaultBucketBytes = 4 << 20;

  /// `params`: the model's parameters, the same names and shapes on every rank (each tensor once;
  /// a repeated one is reduced once). `overlap` false starts every bucket only after backward: the
  /// same sums, without the overlap (bench/reducer_overlap measures what the overlap hides).
  explicit GradientReducer(const NamedTensors& params, int64_t bucket_bytes = kDefaultBucketBytes,
                           bool overlap = true);

  /// loss.backward() with the gradients summed over the ranks as above, each rank's weighted by
  /// `scale`. In a world of one it is loss.backward() with the gradients scaled (when scale != 1).
  /// Inside a NoSync scope it is loss.backward() alone: the gradients accumulate on this rank, and
  /// the first backward() after the scope reduces all of them (DDP's no_sync()).
  void backward(const Tensor& loss, double scale = 1);

  /// Gradient accumulation without communication for its lifetime (see backward()).
  class NoSync {
   public:
    explicit NoSync(GradientReducer& r) : reducer_(r), previous_(r.sync_) { r.sync_ = false; }
    ~NoSync() { reducer_.sync_ = previous_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    GradientReducer& reducer_;
    bool previous_;
  };

  /// Where the time went in the backward() calls so far (synced ones only).
  struct Stats {
    int64_t steps = 0;
    double backward_seconds = 0;  // from the start of backward to its last node
    double wait_seconds = 0;      // after that, waiting for the allreduces still in flight: the
                                  // communication that backward did not hide
    int64_t bytes = 0;            // gradient bytes summed per step
  };
  const Stats& stats() const { return stats_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Param {
    Tensor tensor;
    int bucket = 0;
    int64_t offset = 0;  // in the bucket's buffer
    bool ready = false;
  };
  struct Bucket {
    std::vector<float> data;
    std::vector<int> params;
    int64_t pending = 0;  // parameters not ready yet
    Request request;
  };

  void begin(const std::vector<TensorImpl*>& leaves) override;
  void leaf_ready(TensorImpl& leaf) override;
  void after_node() override;
  void mark_ready(int p);
  void start_ready_buckets();
  void finish();

  std::vector<Param> params_;
  std::vector<Bucket> buckets_;
  std::unordered_map<TensorImpl*, int> index_;
  float scale_ = 1;
  size_t next_to_start_ = 0, next_to_test_ = 0;
  bool sync_ = true;
  bool overlap_ = true;
  Stats stats_;
};

}  // namespace ag::dist
