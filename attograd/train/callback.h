#pragma once
// Callbacks of the training loop (Keras' Callback, Lightning's hooks): called at the begin and end
// of training, of each epoch and after each optimizer step, in the order they were added.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace ag::train {

class Trainer;
struct FitResult;

/// One metrics.csv row by column name: train_loss, what the validation gave, ...
using EpochMetrics = std::vector<std::pair<std::string, double>>;

/// What a step-end callback sees.
struct StepInfo {
  int64_t step = 0;     // optimizer steps of the whole run, this one included
  int64_t epoch = 0;    // 0-based
  int64_t batch = 0;    // batches of the epoch done, this one included
  int64_t batches = 0;  // batches in the epoch
  double loss = 0;
};

/// What an epoch-end callback sees, after validation and after best.h5 and last.h5 are written.
struct EpochInfo {
  int64_t epoch = 0;  // 1-based: epochs done
  int64_t step = 0;
  EpochMetrics metrics;
  bool improved = false;  // the monitored metric is the best so far (best.h5 was written)
  /// The value of `name`, or NaN when the row has no such column.
  double value(const std::string& name) const {
    for (const auto& [n, v] : metrics)
      if (n == name) return v;
    return std::numeric_limits<double>::quiet_NaN();
  }
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_begin(Trainer&, int64_t /*epoch, 0-based*/) {}
  virtual void on_step_end(Trainer&, const StepInfo&) {}
  virtual void on_epoch_end(Trainer&, const EpochInfo&) {}
  virtual void on_train_end(Trainer&, const FitResult&) {}
};

/// A callback made of functions (Keras' LambdaCallback); unset ones do nothing.
struct LambdaCallback : Callback {
  std::function<void(Trainer&)> train_begin;
  std::function<void(Trainer&, int64_t)> epoch_begin;
  std::function<void(Trainer&, const StepInfo&)> step_end;
  std::function<void(Trainer&, const EpochInfo&)> epoch_end;
  std::function<void(Trainer&, const FitResult&)> train_end;
  void on_train_begin(Trainer& t) override { if (train_begin) train_begin(t); }
  void on_epoch_begin(Trainer& t, int64_t e) override { if (epoch_begin) epoch_begin(t, e); }
  void on_step_end(Trainer& t, const StepInfo& s) override { if (step_end) step_end(t, s); }
  void on_epoch_end(Trainer& t, const EpochInfo& e) override { if (epoch_end) epoch_end(t, e); }
  void on_train_end(Trainer& t, const FitResult& r) override { if (train_end) train_end(t, r); }
};

/// Whether a monitored metric is better when lower (a loss) or higher (an accuracy, BLEU).
enum class Mode { Min, Max };

/// Ends training when `monitor` has not improved by more than `min_delta` for `patience` epochs
/// (Keras' EarlyStopping). With restore_best, the model then gets best.h5's weights back, the
/// best epoch's; best.h5 is chosen on the trainer's monitor, which should be this one. The count of
/// epochs without improvement starts afresh when a run resumes.
class EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor, int64_t patience, double min_delta = 0, Mode mode = Mode::Min,
                bool restore_best = true);
  void on_epoch_end(Trainer& trainer, const EpochInfo& info) override;
  void on_train_end(Trainer& trainer, const FitResult& result) override;
  bool stopped() const { return stopped_epoch_ >= 0; }
  int64_t stopped_epoch() const { return stopped_epoch_; }  // 1-based, -1 when it did not stop

 private:
  std::string monitor_;
  int64_t patience_;
  double min_delta_;
  Mode mode_;
  bool restore_best_;
  double best_;
  int64_t wait_ = 0, stopped_epoch_ = -1;
};

}  // namespace ag::train
