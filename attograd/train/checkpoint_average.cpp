#include "attograd/train/checkpoint_average.h"

#include <map>

#include "attograd/core/error.h"

namespace ag::train {

Checkpoint average_checkpoints(const std::vector<std::string>& paths) {
  check(!paths.empty(), "average_checkpoints: no files given");
  const Checkpoint first = load_checkpoint(paths.front(), false);
  std::map<std::string, std::vector<double>> sums;
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : first.model) {
    sums[name].assign(static_cast<size_t>(t.numel()), 0.0);
    shapes[name] = t.shape();
  }
  Checkpoint out;
  for (const std::string& path : paths) {
    Checkpoint c = path == paths.front() ? first : load_checkpoint(path, false);
    check(c.vocab == first.vocab, "average_checkpoints: {} has other vocabularies than {}", path, paths.front());
    check(c.model.size() == sums.size(), "average_checkpoints: {} holds {} tensors, {} holds {}", path,
          c.model.size(), paths.front(), sums.size());
    for (const auto& [name, t] : c.model) {
      auto it = sums.find(name);
      check(it != sums.end(), "average_checkpoints: {} holds '{}', which {} does not", path, name, paths.front());
      check(t.shape() == shapes.at(name), "average_checkpoints: '{}' is {} in {} but {} in {}", name, t.shape(), path,
            shapes.at(name), paths.front());
      const float* p = t.data();
      for (size_t i = 0; i < it->second.size(); ++i) it->second[i] += p[i];
    }
    out.config = c.config;  // the last file's
  }
  out.vocab = first.vocab;
  const double n = static_cast<double>(paths.size());
  for (const auto& [name, sum] : sums) {
    Tensor mean = empty(shapes.at(name));
    for (size_t i = 0; i < sum.size(); ++i) mean.data()[i] = static_cast<float>(sum[i] / n);
    out.model.emplace_back(name, mean);
  }
  return out;
}

}  // namespace ag::train
