#include "attograd/train/trainer.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/threads.h"
#include "attograd/core/random.h"
#include "attograd/dist/dist.h"
#include "attograd/train/finite.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/metrics.h"
#include "attograd/train/progress.h"

namespace ag::train {

void configure_run(int threads, bool detect_anomaly, uint64_t seed) {
  if (threads > 0) set_num_threads(threads);
  if (detect_anomaly) set_detect_anomaly(true);
  manual_seed(seed);
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, optim::Scheduler* scheduler, TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      scheduler_(scheduler),
      options_(std::move(options)),
      checkpoints_(options_.run_dir, !distributed() || dist::is_main()) {}

bool Trainer::distributed() const { return options_.distributed && dist::world_size() > 1; }

bool Trainer::better(double value) const {
  return (options_.mode == Mode::Max ? value : -value) > checkpoints_.best();
}

void Trainer::resume(const Checkpoint& last, const Progress& progress) {
  check(last.optimizer && last.data, "resume: {} holds no training state (a best.h5 copied there?)", last.source);
  restore_checkpoint(last, model_, &optimizer_, scheduler_);
  resume_at_ = *last.data;
  progress_ = progress;
  total_steps_ = optimizer_.step_count();
  if (progress.best_epoch >= 0 || options_.mode == Mode::Max)
    checkpoints_.set_best(options_.mode == Mode::Max ? progress.best : -progress.best);
}

Checkpoint Trainer::checkpoint(const std::optional<DataPosition>& data) const {
  Checkpoint c = data ? make_checkpoint(model_, &optimizer_, scheduler_) : make_checkpoint(model_);
  c.data = data;
  c.config = run_config(progress_);
  c.vocab = vocab;
  return c;
}

std::string Trainer::summary(const FitResult& r) const {
  const std::string best = r.progress.best_epoch < 0 ? "none yet"
                           : options_.best_text ? options_.best_text(r.progress.best)
                                                : fmt::format("{} {:.4f}", options_.monitor, r.progress.best);
  std::string ranks;  // distributed: how long backward took and how long the allreduces kept it waiting
  if (reducer_ && reducer_->stats().steps > 0) {
    const dist::GradientReducer::Stats& s = reducer_->stats();
    const double steps = static_cast<double>(s.steps);
    ranks = fmt::format(" on {} ranks (backward {:.1f} ms/step, then {:.1f} ms/step waiting for the gradient allreduce)",
                        dist::world_size(), 1e3 * s.backward_seconds / steps, 1e3 * s.wait_seconds / steps);
  }
  return fmt::format("summary: {} steps in {:.0f} s of training ({:.0f} {}/s{}), best {} (epoch {}){}", r.steps,
                     r.train_seconds, r.units_per_second, options_.unit, ranks, best, r.progress.best_epoch,
                     r.stopped         ? "; stopped: resume with --resume"
                     : r.stopped_early ? "; stopped early: no better epoch for the callback's patience"
                                       : "");
}

FitResult Trainer::fit_loop(DataOrder& source, const std::function<StepOutput()>& next_step,
                            const std::function<Validation()>& validate, const std::function<std::string()>& step_text) {
  FitResult result;
  const TrainerOptions& o = options_;
  if (resume_at_) source.restore(*resume_at_);
  else source.set_epoch(0);
  const DataPosition start = source.state();
  install_interrupt_handler();  // from here on, Ctrl-C saves last.h5 and stops
  const bool together = distributed();
  const bool writes = checkpoints_.writes();  // rank 0, or alone
  if (together) {
    dist::broadcast(model_.named_parameters());  // rank 0's initial (or resumed) weights everywhere
    reducer_ = std::make_unique<dist::GradientReducer>(model_.named_parameters(), o.bucket_bytes);
  }
  std::vector<std::string> columns = {"step", "epoch", "train_loss"};
  columns.insert(columns.end(), o.columns.begin(), o.columns.end());
  columns.push_back("tokens_per_s");
  std::optional<MetricsLog> metrics;
  if (writes) metrics.emplace(o.run_dir / "metrics.csv", columns, static_cast<double>(total_steps_));
  for (auto& c : callbacks_) c->on_train_begin(*this);

  auto save_last = [&](const DataPosition& at) {
    if (!writes) return;
    phase_begin("checkpoint");
    checkpoints_.save_last(checkpoint(at));
    phase_end("checkpoint");
  };
  double all_units = 0;
  bool done = false;  // max_steps reached
  model_.train();
  for (int64_t epoch = start.epoch; epoch < o.epochs && !result.stopped && !done && !stop_requested_; ++epoch) {
    if (epoch != start.epoch) source.set_epoch(epoch);
    for (auto& c : callbacks_) c->on_epoch_begin(*this, epoch);
    const int64_t count = source.size();
    ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, o.epochs), count, o.unit);
    double loss_sum = 0, weight_sum = 0, epoch_seconds = 0, units = 0;
    for (int64_t b = source.state().position; b < count; ++b) {
      const auto step_start = std::chrono::steady_clock::now();
      phase_begin("forward");
      const StepOutput out = next_step();
      phase_end("forward");
      const int64_t step = total_steps_ + 1;
      // This rank's loss, weight and units; distributed, the global batch's (sums over the ranks).
      double loss = out.loss.item(), weight = out.weight, step_units = out.units;
      if (together) {
        double sums[3] = {loss * weight, weight, step_units};
        dist::allreduce_sum(sums, 3);
        loss = sums[0] / sums[1], weight = sums[1], step_units = sums[2];
      }
      check_finite_loss(loss, step);  // the same global loss on every rank: they stop together
      phase_begin("backward");
      optimizer_.zero_grad();
      if (reducer_) reducer_->backward(out.loss, out.weight / weight);  // this rank's share of the batch
      else out.loss.backward();
      phase_end("backward");
      phase_begin("optimizer");
      const nn::NamedTensors params = model_.named_parameters();
      if (gradient_hook_) gradient_hook_(params);
      clip_and_check_gradients(params, o.clip, step);
      optimizer_.step();
      if (scheduler_) scheduler_->step();
      phase_end("optimizer");
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      epoch_seconds += seconds;
      result.train_seconds += seconds;
      ++result.steps;
      total_steps_ = step;

      loss_sum += loss * weight;
      weight_sum += weight;
      units += step_units;
      all_units += step_units;
      bar.update(b + 1, fmt::format("loss {:.4f}{}", loss_sum / weight_sum, step_text ? step_text() : ""), units);
      for (auto& c : callbacks_) c->on_step_end(*this, {step, epoch, b + 1, count, loss});
      const DataPosition here = source.state();
      done = o.max_steps >= 0 && total_steps_ >= o.max_steps;
      // A signal reaches the ranks at different steps: every rank stops at the first step any saw it.
      const bool signalled = together ? dist::any(interrupted()) : interrupted();
      const bool stop = !done && (signalled || result.steps == o.stop_after_steps);
      if (stop || (o.save_every > 0 && result.steps % o.save_every == 0)) {
        check_finite_weights(model_.named_parameters(), total_steps_);
        save_last(here);
      }
      if (stop) {
        result.stopped = true;
        bar.finish("stopped; last.h5 holds the run");
        break;
      }
      if (done) break;
    }
    if (result.stopped) break;
    check_finite_weights(model_.named_parameters(), total_steps_);  // before validation picks them for best.h5
    const double units_per_s = epoch_seconds > 0 ? units / epoch_seconds : 0;
    const double train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0;
    phase_begin("validation");
    const Validation val = validate();
    phase_end("validation");
    bar.finish(fmt::format("train loss {:.4f}{}, {} tok/s in steps", train_loss, val.text,
                           ProgressBar::format_count(units_per_s)));
    EpochInfo info{epoch + 1, total_steps_, {{"train_loss", train_loss}}, false};
    info.metrics.insert(info.metrics.end(), val.metrics.begin(), val.metrics.end());
    std::vector<double> row = {static_cast<double>(total_steps_), static_cast<double>(epoch + 1)};
    for (const auto& [name, value] : info.metrics) row.push_back(value);
    row.push_back(units_per_s);
    check(row.size() == columns.size(), "Trainer: validation gave {} metrics for the {} columns after train_loss",
          val.metrics.size(), o.columns.size());
    if (metrics) metrics->append(row);
    const double score = info.value(o.monitor);
    check(!std::isnan(score),
          "Trainer: validation gave no '{}', the monitored metric", o.monitor);
    info.improved = better(score);
    if (info.improved) progress_ = {score, epoch + 1};
    phase_begin("checkpoint");
    checkpoints_.save_if_best(writes ? checkpoint(std::nullopt) : Checkpoint{}, o.mode == Mode::Max ? score : -score);
    const DataPosition next = done ? source.state() : DataPosition{epoch + 1, 0, source.state().shuffle_seed};
    if (writes) checkpoints_.save_last(checkpoint(next));
    if (writes && o.keep_epochs > 0) {  // the newest keep_epochs epoch<E>.h5, for checkpoint averaging
      save_checkpoint((checkpoints_.dir() / fmt::format("epoch{}.h5", epoch + 1)).string(), checkpoint(std::nullopt));
      std::filesystem::remove(checkpoints_.dir() / fmt::format("epoch{}.h5", epoch + 1 - o.keep_epochs));
    }
    phase_end("checkpoint");
    for (auto& c : callbacks_) c->on_epoch_end(*this, info);
    // A callback of one rank alone may ask to stop: then every rank stops after this epoch.
    if (together) stop_requested_ = dist::any(stop_requested_);
  }
  if (together) dist::barrier();  // rank 0's files are written before any rank reads them back
  result.stopped_early = stop_requested_ && !result.stopped;
  result.total_steps = total_steps_;
  result.progress = progress_;
  result.units_per_second = result.train_seconds > 0 ? all_units / result.train_seconds : 0;
  for (auto& c : callbacks_) c->on_train_end(*this, result);
  fmt::print("{}\n", summary(result));
  return result;
}

EarlyStopping::EarlyStopping(std::string monitor, int64_t patience, double min_delta, Mode mode, bool restore_best)
    : monitor_(std::move(monitor)),
      patience_(patience),
      min_delta_(min_delta),
      mode_(mode),
      restore_best_(restore_best),
      best_(mode == Mode::Max ? -INFINITY : INFINITY) {
  check(patience >= 1, "EarlyStopping: patience {} is not a positive count of epochs", patience);
  check(std::isfinite(min_delta) && min_delta >= 0, "EarlyStopping: min_delta {} is not a finite number >= 0",
        min_delta);
}

void EarlyStopping::on_epoch_end(Trainer& trainer, const EpochInfo& info) {
  const double value = info.value(monitor_);
  check(!std::isnan(value), "EarlyStopping: the epoch's metrics have no '{}'", monitor_);
  const bool improved = mode_ == Mode::Max ? value > best_ + min_delta_ : value < best_ - min_delta_;
  if (improved) {
    best_ = value;
    wait_ = 0;
    return;
  }
  if (++wait_ >= patience_) {
    stopped_epoch_ = info.epoch;
    trainer.request_stop();
  }
}

void EarlyStopping::on_train_end(Trainer& trainer, const FitResult&) {
  if (!stopped() || !restore_best_) return;
  const auto best = trainer.checkpoints().best_path();
  if (std::filesystem::exists(best)) trainer.model().load_state_dict(load_checkpoint(best.string(), false).model);
}

}  // namespace ag::train
