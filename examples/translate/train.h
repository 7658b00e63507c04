#pragma once
// `translate train`: the training run, its checkpoints and its resume.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attograd/train/callback.h"

#include "examples/translate/model.h"

namespace translate {

struct TrainOptions {
  std::string data_dir;                   // --data: Multi30k's folder, or one with train/val.lc.norm.tok.<lang>[.gz]
  std::string src_lang = "de", trg_lang = "en";
  std::string out_dir = "runs/translate";  // RUN_DIR: best.h5, last.h5, metrics.csv
  std::string resume_dir;                  // --resume RUN_DIR: continue from RUN_DIR/last.h5
  bool overwrite = false;                  // --overwrite: start afresh in an out_dir that holds a run
  TranslationConfig model;                 // --arch and the model sizes (vocab sizes come from the data)
  std::optional<bool> tie_output;          // output layer = target embedding; unset: the recipe, tied for
                                           // the transformer (or model.tie_output if that is set)
  double lr = 0;                           // 0: 1e-3 (for the transformer, the peak of the schedule)
  std::string schedule;                    // "inverse-sqrt", "linear" (to 0 at the last step) or "constant";
                                           // empty: linear (transformer) or constant (rnn)
  int64_t warmup = 800;                    // linear warmup steps of linear and inverse-sqrt (~4 epochs of Multi30k)
  double label_smoothing = 0.1;
  double clip = 1.0;                       // max gradient norm; 0 = off
  int64_t epochs = 0;                      // 0: 16 (transformer) or 10 (rnn), the measured recipes
  int64_t max_tokens = 0;                  // padded (source + target) tokens per batch; 0: 2048 (transformer)
                                           // or 4096 (rnn)
  int64_t min_freq = 2;                    // vocabulary: words seen at least this often in train
  uint64_t seed = 1;                       // initialisation, batching, dropout
  int threads = 0;                         // 0: OpenMP's default
  int64_t save_every = 0;                  // also write last.h5 every N steps; 0 = only at epoch ends
  int64_t keep_epochs = 0;                 // keep the last N epochs' models as epoch<E>.h5 (translate average)
  int64_t val_limit = 0;                   // validate on the first N val pairs only (0: all)
  int64_t stop_after_steps = -1;           // stop (saving last.h5) after this many steps in this process (tests)
  int64_t max_steps = -1;                  // end training after this many steps in all (>= 0), validating then
  bool validate_bleu = true;               // greedy BLEU on val each epoch
  bool detect_anomaly = false;             // --detect-anomaly: name the first op whose output or gradient is not finite
  std::string export_batches;              // write the initial model and the training batches here, then exit
  int64_t export_steps = -1;               // batches to export; -1: all of the `epochs` epochs (bench/)
  // Not on the command line (library callers and tests):
  bool distributed = true;  // under mpirun, train together with the other ranks; false: alone
  std::vector<std::shared_ptr<ag::train::Callback>> callbacks;  // added to the run's Trainer
};

struct TrainResult {
  double best_val_bleu = -1;
  int64_t best_epoch = -1;
  double last_val_loss = 0, last_val_bleu = 0;
  int64_t steps = 0;           // optimizer steps taken in this process
  double train_seconds = 0;    // time in training steps
  double tokens_per_second = 0;
  bool stopped = false;        // interrupted (Ctrl-C or stop_after_steps) before the end
};

TrainResult train(const TrainOptions& options);

}  // namespace translate
