#pragma once
// BatchSource: a training run's batches, epoch after epoch, in an order that the seed and the epoch
// fix (torch's Sampler with the DataLoader's batching). Its state() is what last.h5 keeps of the
// data, so that a run resumed from it (restore()) trains on the very batches it would have had.

#include <cstdint>

#include "attograd/core/error.h"
#include "attograd/train/run_checkpoint.h"

namespace ag::train {

/// The part of a batch source the training loop needs without knowing the batch type.
class DataOrder {
 public:
  virtual ~DataOrder() = default;
  /// Moves to the first batch of epoch `epoch` (0-based).
  virtual void set_epoch(int64_t epoch) = 0;
  /// Batches in the current epoch (epochs may differ, e.g. when batches are bucketed by length).
  virtual int64_t size() const = 0;
  /// {epoch, batches of it taken, seed}.
  virtual DataPosition state() const = 0;
  /// Continues at a state() of a source over the same data with the same seed: the next batch is
  /// batch state.position of epoch state.epoch.
  virtual void restore(const DataPosition& state) = 0;
};

/// A source of `Batch`es. next() gives the batch at state().position and moves past it.
template <class Batch>
class BatchSource : public DataOrder {
 public:
  virtual Batch next() = 0;
};

/// A BatchSource whose epoch is a list of batches planned from (seed, epoch): a subclass says how
/// many batches an epoch has (plan) and makes batch i of it (make); the position is kept here.
template <class Batch>
class PlannedBatches : public BatchSource<Batch> {
 public:
  explicit PlannedBatches(uint64_t seed) : seed_(seed) {}
  void set_epoch(int64_t epoch) override {
    epoch_ = epoch;
    position_ = 0;
    size_ = plan(epoch);
  }
  int64_t size() const override { return size_; }
  DataPosition state() const override { return {epoch_, position_, seed_}; }
  void restore(const DataPosition& state) override {
    check(state.shuffle_seed == seed_, "BatchSource::restore: the run shuffled with seed {}, this source with {}",
          state.shuffle_seed, seed_);
    set_epoch(state.epoch);
    check(state.position >= 0 && state.position <= size_,
          "BatchSource::restore: batch {} of epoch {}, which has {} batches", state.position, state.epoch, size_);
    position_ = state.position;
  }
  Batch next() override {
    check(position_ < size_, "BatchSource::next: epoch {} has only {} batches", epoch_, size_);
    return make(position_++);
  }

 protected:
  /// Prepares epoch `epoch` (its order) and returns its number of batches.
  virtual int64_t plan(int64_t epoch) = 0;
  /// Batch `index` of the planned epoch.
  virtual Batch make(int64_t index) = 0;

 private:
  uint64_t seed_;
  int64_t epoch_ = 0, position_ = 0, size_ = 0;
};

}  // namespace ag::train
