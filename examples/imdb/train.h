#pragma once
// `imdb train`: the training run, its checkpoints and its resume.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attograd/train/callback.h"

#include "examples/imdb/model.h"

namespace imdb {

/// The options of a run. TrainOptions{} is the seed article's recipe (Adam 1e-3, batch 32, 5 epochs,
/// no regularisation); recipe("default") is the one `imdb train` starts from unless told
/// `--recipe article`.
struct TrainOptions {
  std::string data_dir;              // --data ("": $ATTOGRAD_DATA, the user data folder, ../shared/data)
  std::string out_dir = "runs/imdb"; // RUN_DIR: best.h5, last.h5, metrics.csv
  std::string resume_dir;            // --resume RUN_DIR: continue from RUN_DIR/last.h5
  bool overwrite = false;            // --overwrite: start afresh in an out_dir that holds a run
  ModelConfig model;                 // --vocab, --maxlen, --mask, --embed-dropout, --lstm-dropout, --dropout
  std::string optimizer = "adam";    // adam | adamw
  double lr = 1e-3;
  double weight_decay = 0;
  int64_t epochs = 0;                // 0: the article's 5, or on --resume the run's own
  int64_t batch = 32;
  uint64_t seed = 1;                 // initialisation, validation split and shuffling
  int threads = 0;                   // 0: OpenMP's default
  double clip = 0;                   // max gradient norm; 0 = off
  std::string schedule = "constant"; // learning rate: constant, linear (to 0 at the last step) or cosine (to 0)
  int64_t warmup = 0;                // steps of linear warmup before linear or cosine
  int64_t patience = 0;              // early stopping: end after this many epochs without a better val accuracy (0: off)
  double min_delta = 0;              // ... better by more than this
  int64_t save_every = 0;            // also write last.h5 every N steps; 0 = only at epoch ends
  double val_fraction = 0.1;
  int64_t per_class = 0;             // use only this many training reviews per label (quick runs)
  bool detect_anomaly = false;       // --detect-anomaly: name the first op whose output or gradient is not finite
  bool test = true;                  // evaluate best.h5 on the test split at the end
  int64_t stop_after_steps = -1;     // stop (saving last.h5) after this many steps in this process (tests)
  std::string export_batches;        // write the initial model and training batches here and exit (bench/)
  int64_t export_steps = 0;          // batches to export; < 0: every epoch's, with the val and test sets
  // Not on the command line (library callers and tests):
  bool distributed = true;           // under mpirun, train together with the other ranks; false: alone
  std::vector<std::shared_ptr<ag::train::Callback>> callbacks;  // added to the run's Trainer
};

struct TrainResult {
  double best_val_accuracy = 0;
  int64_t best_epoch = -1;
  double test_accuracy = -1;  // -1 when not evaluated
  int64_t steps = 0;          // optimizer steps taken in this process
  double train_seconds = 0;   // time in training steps (not data loading or evaluation)
  double tokens_per_second = 0;
  bool stopped = false;       // interrupted (Ctrl-C or stop_after_steps) before the last epoch ended
};

/// The named recipes: "article" (TrainOptions{}) and "default" (the measured best of
/// examples/imdb/README.md). Raises ag::Error for another name.
TrainOptions recipe(const std::string& name);

TrainResult train(const TrainOptions& options);

}  // namespace imdb
