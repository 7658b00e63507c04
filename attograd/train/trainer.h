#pragma once
// Trainer: the training loop of a run folder (Keras' fit, Lightning's Trainer). A program supplies
// its model, optimizer (and schedule), a BatchSource, the loss of a batch and its validation; the
// Trainer gives it what every run needs:
//   - RUN_DIR/last.h5 (where training is: model, optimizer, schedule, data position, generators)
//     every save_every steps, at each epoch end and on Ctrl-C or SIGTERM (then it stops; the
//     program exits 130/143 with interrupted_exit_code()); resume() continues from it bit for bit;
//   - validation each epoch, RUN_DIR/best.h5 (the best epoch on `monitor`), metrics.csv, a progress
//     bar with rate and ETA, and the summary line on stdout at the end;
//   - the non-finite stop (finite.h): a NaN or Inf loss, gradient or weight ends the run naming the
//     step, before it reaches a checkpoint;
//   - callbacks (callback.h: step and epoch end, early stopping), a gradient hook that runs after
//     backward and before clipping and the optimizer step, and a profiler around each phase;
//   - data parallel under mpirun (ag::dist, docs/distributed.md): the parameters start as rank 0's,
//     each step's gradients are summed over the ranks while backward runs (dist::GradientReducer),
//     each rank's weighted by its share of StepOutput::weight, so N ranks that each take a part of
//     every global batch follow one process's trajectory; the loss and rate shown are the global
//     batch's; a stop (Ctrl-C, SIGTERM, stop_after_steps, the non-finite checks, a callback) is
//     agreed by every rank at the same step; rank 0 alone writes metrics.csv and checkpoints.
//     The program's step and validate run on every rank: each shards its data (dist::shard) and
//     validate reduces its sums over the ranks.
// The run folder's lock (RunLock) is the program's to hold, from before it reads the folder.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attograd/core/profiler.h"
#include "attograd/core/tensor.h"
#include "attograd/dist/gradient_reducer.h"
#include "attograd/nn/module.h"
#include "attograd/optim/optimizer.h"
#include "attograd/optim/schedule.h"
#include "attograd/train/batch_source.h"
#include "attograd/train/callback.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/run_checkpoint.h"

namespace ag::train {

/// Sets what a run's arithmetic depends on, before its model is made: the thread count (0: OpenMP's
/// default), anomaly detection (--detect-anomaly) and the default generator's seed.
void configure_run(int threads, bool detect_anomaly, uint64_t seed);

/// What the loss of one batch gives the loop.
struct StepOutput {
  Tensor loss;        // the scalar to minimise: a mean over this rank's part of the batch
  double weight = 1;  // what it is a mean over (the batch's examples or tokens on this rank): its
                      // weight in the epoch's mean train loss and, distributed, in the gradient sum
  double units = 0;   // what the rate counts ("tok/s"): the batch's tokens on this rank
};

/// What validation at an epoch end gives the loop.
struct Validation {
  EpochMetrics metrics;  // metrics.csv's columns after train_loss, in order
  std::string text;      // the epoch's line on the bar, after "train loss 0.1234"
};

/// The best epoch so far on the monitored metric (best_epoch -1: none yet). It goes into each
/// checkpoint's config and comes back on resume.
struct Progress {
  double best = -1;
  int64_t best_epoch = -1;
};

struct FitResult {
  int64_t steps = 0;            // optimizer steps taken in this process
  int64_t total_steps = 0;      // in the whole run
  double train_seconds = 0;     // in training steps (not data loading between them or validation)
  double units_per_second = 0;  // units of StepOutput per second of train_seconds
  bool stopped = false;         // Ctrl-C, SIGTERM or stop_after_steps: last.h5 holds the run
  bool stopped_early = false;   // a callback asked to stop (early stopping)
  Progress progress;
};

// Every member has an initializer, so designated initializers may name only what they change
// (without -Wmissing-field-initializers warnings).
struct TrainerOptions {
  std::filesystem::path run_dir{};
  int64_t epochs = 1;
  int64_t max_steps = -1;         // end after this many steps of the whole run (>= 0), validating then
  int64_t save_every = 0;         // also write last.h5 every N steps; 0: at epoch ends only
  int64_t stop_after_steps = -1;  // stop (saving last.h5) after this many steps in this process (tests)
  int64_t keep_epochs = 0;        // keep the newest N epochs' models as RUN_DIR/epoch<E>.h5
  double clip = 0;                // max global gradient norm; 0: no clipping
  std::string monitor = "val_loss";  // the metric best.h5 is chosen on
  Mode mode = Mode::Min;
  std::vector<std::string> columns{};  // metrics.csv columns after train_loss, as Validation gives them
  std::string unit = "tok";          // what StepOutput::units counts
  // The summary line's "best ..." from the best monitored value ("val BLEU 31.20"); unset: the
  // monitor's name and the value.
  std::function<std::string(double)> best_text{};
  // Under mpirun, train one model with the other ranks (above); false: this process trains alone.
  bool distributed = true;
  int64_t bucket_bytes = 4 << 20;  // the gradient reducer's bucket size (dist::GradientReducer)
};

/// Receives the loop's phases ("data", "forward", "backward", "optimizer", "checkpoint",
/// "validation") as they begin and end.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual void begin(std::string_view phase) = 0;
  virtual void end(std::string_view phase) = 0;
};

class Trainer {
 public:
  /// `scheduler` may be null. The checkpoint manager of options.run_dir is made here.
  Trainer(nn::Module& model, optim::Optimizer& optimizer, optim::Scheduler* scheduler, TrainerOptions options);

  /// The run's configuration (JSON text) for a checkpoint, given the progress so far; and the
  /// vocabularies the checkpoints carry.
  std::function<std::string(const Progress&)> run_config = [](const Progress&) { return std::string("{}"); };
  std::map<std::string, std::vector<std::string>> vocab;

  /// Continues the run of `last` (a last.h5): model, optimizer, schedule and generators, where the
  /// data stood, and `progress` (from its config). Raises ag::Error naming the file when it holds
  /// no training state.
  void resume(const Checkpoint& last, const Progress& progress);

  void add_callback(std::shared_ptr<Callback> callback) { callbacks_.push_back(std::move(callback)); }
  /// Called with the named parameters after backward, before clipping, the finite check and the
  /// optimizer step: it may read and change the gradients.
  void set_gradient_hook(std::function<void(const nn::NamedTensors&)> hook) { gradient_hook_ = std::move(hook); }
  void set_profiler(Profiler* profiler) { profiler_ = profiler; }
  /// Ends training after the current epoch's validation and checkpoints (Keras' stop_training).
  void request_stop() { stop_requested_ = true; }

  /// Trains from where the run is to options.epochs (or max_steps). `step` computes the loss of a
  /// batch (it may keep statistics of its own); `validate` runs at each epoch end; `step_text`, if
  /// set, is added to the bar after "loss 0.1234".
  template <class Batch>
  FitResult fit(BatchSource<Batch>& source, const std::function<StepOutput(const Batch&)>& step,
                const std::function<Validation()>& validate, const std::function<std::string()>& step_text = {}) {
    return fit_loop(
        source,
        [&] {
          std::optional<Batch> batch;
          phase_begin("data");
          batch.emplace(source.next());
          phase_end("data");
          return step(*batch);
        },
        validate, step_text);
  }

  /// A checkpoint of the run now: with the training state and `data` when given, else an eval-only
  /// one (model, config, vocab).
  Checkpoint checkpoint(const std::optional<DataPosition>& data) const;
  /// The line fit() ends with: "summary: 120 steps in 31 s of training (5320 tok/s), best val BLEU
  /// 31.20 (epoch 3)", and "; stopped: resume with --resume" after a stop.
  std::string summary(const FitResult& result) const;

  nn::Module& model() { return model_; }
  /// True when this process trains together with other ranks (options().distributed under mpirun).
  bool distributed() const;
  /// The gradient reducer of a distributed fit() (null before it and alone): its time per phase.
  const dist::GradientReducer* reducer() const { return reducer_.get(); }
  const CheckpointManager& checkpoints() const { return checkpoints_; }
  const TrainerOptions& options() const { return options_; }
  const Progress& progress() const { return progress_; }
  int64_t total_steps() const { return total_steps_; }

 private:
  FitResult fit_loop(DataOrder& source, const std::function<StepOutput()>& next_step,
                     const std::function<Validation()>& validate, const std::function<std::string()>& step_text);
  bool better(double value) const;
  // Each phase is also a range of ag::profile's profiler, when one records.
  void phase_begin(std::string_view phase) {
    if (profiler_) profiler_->begin(phase);
    phase_ranges_.emplace_back(std::string(phase));
  }
  void phase_end(std::string_view phase) {
    phase_ranges_.pop_back();
    if (profiler_) profiler_->end(phase);
  }

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  optim::Scheduler* scheduler_;
  TrainerOptions options_;
  CheckpointManager checkpoints_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  std::function<void(const nn::NamedTensors&)> gradient_hook_;
  Profiler* profiler_ = nullptr;
  std::deque<profile::Range> phase_ranges_;  // the phases open now, innermost last
  std::unique_ptr<dist::GradientReducer> reducer_;
  std::optional<DataPosition> resume_at_;
  Progress progress_;
  int64_t total_steps_ = 0;
  bool stop_requested_ = false;
};

}  // namespace ag::train
