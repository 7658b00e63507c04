#pragma once
// Checkpoint averaging: the element-wise mean of the model weights of several checkpoints of one run
// (Vaswani et al. 2017 average the last 5 or 20; fairseq's average_checkpoints.py). Taken late in
// training, the mean sits nearer the middle of the basin the optimizer is bouncing around in, and
// often scores better than any single checkpoint.

#include <string>
#include <vector>

#include "attograd/train/run_checkpoint.h"

namespace ag::train {

/// Loads each file (model, config and vocab) and returns an eval-only checkpoint whose model holds
/// the mean of every tensor: avg[name] = (1/n) sum_i file_i[name], accumulated in double. The files
/// must hold the same tensor names and shapes and the same vocabularies; the config is the last
/// file's. Raises ag::Error naming the file and the tensor that differ.
Checkpoint average_checkpoints(const std::vector<std::string>& paths);

}  // namespace ag::train
