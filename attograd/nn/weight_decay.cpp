#include "attograd/nn/weight_decay.h"

namespace ag::nn {

std::set<std::string> no_weight_decay(Module& model) {
  std::set<std::string> out;
  for (const auto& [prefix, module] : model.named_modules()) {
    const std::string type = module->type_name();
    if (type != "LayerNorm" && type != "Embedding") continue;
    for (const auto& [name, _] : module->named_parameters()) out.insert(prefix.empty() ? name : prefix + "." + name);
  }
  for (const auto& [name, _] : model.named_parameters()) {
    const std::string last = name.substr(name.find_last_of('.') + 1);  // npos + 1 == 0
    if (last.starts_with("bias") || last.ends_with("bias")) out.insert(name);
  }
  return out;
}

}  // namespace ag::nn
