#include "attograd/nn/serialize.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include "attograd/core/error.h"
#include "attograd/nn/hdf5.h"

namespace ag::nn {

namespace {

// Builds a file in memory with `fill` and writes it to `path` atomically (H5File::close); on any
// failure `path` is untouched.
void write_atomically(const std::string& op, const std::string& path, const std::function<void(H5File&)>& fill) {
  try {
    H5File file(path, H5File::Mode::Create);
    fill(file);
    file.close();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw Error(fmt::format("{}: {}", op, what));
    throw Error(fmt::format("{}: cannot write '{}' (the previous file, if any, is untouched): {}", op, path, what));
  }
}

void write_model(H5File& file, const NamedTensors& state) {
  file.create_group("/model");
  for (const auto& [name, t] : state) {
    check(!name.empty() && name.find('/') == std::string::npos, "checkpoint: tensor name '{}' is empty or holds '/'",
          name);
    check(t.defined(), "checkpoint: tensor '{}' is undefined", name);
    file.write("/model/" + name, t);
  }
}

// Refuses files of another format version. With require_version = false a file without
// format_version is accepted (a state dict from h5py).
void check_version(const std::string& op, const H5File& file, bool require_version) {
  if (file.has_attr("/", "format_version")) {
    const int64_t version = file.attr_int("/", "format_version");
    check(version == checkpoint_format_version,
          "{}: '{}' has format_version {}, but this build reads version {} only", op, file.path(), version,
          checkpoint_format_version);
  } else {
    check(!require_version, "{}: '{}' is not an attograd checkpoint (no format_version attribute)", op, file.path());
  }
}

// Opens a file for reading; refuses missing, truncated, damaged and foreign files and unknown versions.
std::unique_ptr<H5File> open_for_reading(const std::string& op, const std::string& path, bool require_version) {
  std::unique_ptr<H5File> file;
  try {
    file = std::make_unique<H5File>(path, H5File::Mode::Read);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", op, e.what()));
  }
  check_version(op, *file, require_version);
  return file;
}

// Raises naming the tensor when it holds NaN or Inf: a checkpoint of non-finite weights is of no
// use to resume from or to predict with, and must never replace a good one.
void check_finite(const std::string& op, const std::string& file, const std::string& name, const Tensor& t) {
  if (!t.defined()) return;  // write_model names it
  const float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    check(std::isfinite(p[i]), "{}: '{}': tensor '{}' holds {} at flat index {} (training diverged?)", op, file, name,
          p[i], i);
}

// "op: message", naming the file unless the message already does.
Error in_context(const std::string& op, const std::string& path, const Error& e) {
  const std::string what = e.what();
  if (what.find(path) != std::string::npos) return Error(fmt::format("{}: {}", op, what));
  return Error(fmt::format("{}: cannot read '{}': {}", op, path, what));
}

NamedTensors read_model(const H5File& file) {
  check(file.exists("/model"), "'{}' has no /model group", file.path());
  NamedTensors out;
  for (const std::string& name : file.list("/model")) out.emplace_back(name, file.read_tensor("/model/" + name));
  return out;
}

int64_t as_int(uint64_t v) { return static_cast<int64_t>(v); }  // bit for bit
uint64_t as_uint(int64_t v) { return static_cast<uint64_t>(v); }

// Attributes of /optimizer that are not hyper-parameters.
bool is_bookkeeping(const std::string& attr) {
  return attr == "type" || attr == "step" || attr == "num_groups" || attr.starts_with("group");
}

void write_optimizer(H5File& file, const optim::OptimizerState& s) {
  const std::string root = "/optimizer";
  file.create_group(root);
  file.set_attr(root, "type", s.type);
  file.set_attr(root, "step", s.step);
  file.set_attr(root, "num_groups", static_cast<int64_t>(s.groups.size()));
  for (size_t g = 0; g < s.groups.size(); ++g) {
    const std::string prefix = fmt::format("group{}.", g);
    file.set_attr(root, prefix + "lr", s.groups[g].lr);
    file.set_attr(root, prefix + "weight_decay", s.groups[g].weight_decay);
    file.set_attr(root, prefix + "params", fmt::format("{}", fmt::join(s.groups[g].params, "\n")));
  }
  for (const auto& [key, value] : s.hyper_parameters) {
    check(!is_bookkeeping(key), "save_checkpoint: optimizer hyper-parameter name '{}' is reserved", key);
    file.set_attr(root, key, value);
  }
  for (const auto& [kind, by_name] : s.tensors) {
    check(kind != "step", "save_checkpoint: optimizer state kind 'step' is reserved for step counts");
    for (const auto& [name, t] : by_name) file.write(root + "/" + kind + "/" + name, t);
  }
  for (const auto& [name, step] : s.steps) file.write(root + "/step/" + name, IntTensor({step}, Shape{}));
}

optim::OptimizerState read_optimizer(const H5File& file) {
  const std::string root = "/optimizer";
  optim::OptimizerState s;
  s.type = file.attr_string(root, "type");
  s.step = file.attr_int(root, "step");
  const int64_t groups = file.attr_int(root, "num_groups");
  for (int64_t g = 0; g < groups; ++g) {
    const std::string prefix = fmt::format("group{}.", g);
    optim::OptimizerState::Group group;
    group.lr = file.attr_double(root, prefix + "lr");
    group.weight_decay = file.attr_double(root, prefix + "weight_decay");
    const std::string names = file.attr_string(root, prefix + "params");
    for (size_t start = 0; !names.empty() && start <= names.size();) {
      const size_t end = std::min(names.find('\n', start), names.size());
      group.params.push_back(names.substr(start, end - start));
      start = end + 1;
    }
    s.groups.push_back(std::move(group));
  }
  for (const std::string& attr : file.attr_names(root))
    if (!is_bookkeeping(attr)) s.hyper_parameters[attr] = file.attr_double(root, attr);
  for (const std::string& kind : file.list(root)) {
    for (const std::string& name : file.list(root + "/" + kind)) {
      const std::string at = root + "/" + kind + "/" + name;
      if (kind == "step") s.steps[name] = file.read_ints(at).item();
      else s.tensors[kind][name] = file.read_tensor(at);
    }
  }
  return s;
}

void write_scheduler(H5File& file, const optim::SchedulerState& s) {
  file.create_group("/scheduler");
  file.set_attr("/scheduler", "type", s.type);
  file.set_attr("/scheduler", "step", s.step);
  file.set_attr("/scheduler", "num_groups", static_cast<int64_t>(s.base_lrs.size()));
  for (size_t i = 0; i < s.base_lrs.size(); ++i)
    file.set_attr("/scheduler", fmt::format("base_lr{}", i), s.base_lrs[i]);
}

optim::SchedulerState read_scheduler(const H5File& file) {
  optim::SchedulerState s;
  s.type = file.attr_string("/scheduler", "type");
  s.step = file.attr_int("/scheduler", "step");
  const int64_t n = file.attr_int("/scheduler", "num_groups");
  for (int64_t i = 0; i < n; ++i) s.base_lrs.push_back(file.attr_double("/scheduler", fmt::format("base_lr{}", i)));
  return s;
}

}  // namespace

void save_state_dict(const std::string& path, const NamedTensors& state) {
  write_atomically("save_state_dict", path, [&](H5File& file) {
    file.set_attr("/", "format_version", checkpoint_format_version);
    write_model(file, state);
  });
}

NamedTensors load_state_dict_file(const std::string& path) {
  const auto file = open_for_reading("load_state_dict_file", path, false);
  try {
    return read_model(*file);
  } catch (const Error& e) {
    throw in_context("load_state_dict_file", path, e);
  }
}

Checkpoint make_checkpoint(const Module& model, const optim::Optimizer* optimizer, const optim::Scheduler* scheduler,
                           const std::map<std::string, const Generator*>& generators) {
  Checkpoint c;
  c.model = model.state_dict();
  if (optimizer) c.optimizer = optimizer->state_dict();
  if (scheduler) c.scheduler = scheduler->state_dict();
  c.rng["default"] = {default_generator().seed(), default_generator().offset()};
  for (const auto& [name, gen] : generators) {
    check(name != "default" && gen != nullptr, "make_checkpoint: generator '{}' is null or named 'default' (reserved)",
          name);
    c.rng[name] = {gen->seed(), gen->offset()};
  }
  return c;
}

void restore_checkpoint(const Checkpoint& c, Module& model, optim::Optimizer* optimizer, optim::Scheduler* scheduler,
                        const std::map<std::string, Generator*>& generators) {
  const std::string from = c.source.empty() ? "checkpoint" : "'" + c.source + "'";
  check(!optimizer || c.optimizer.has_value(), "restore_checkpoint: {} holds no optimizer state", from);
  check(!scheduler || c.scheduler.has_value(), "restore_checkpoint: {} holds no scheduler state", from);
  for (const auto& [name, gen] : generators)
    check(c.rng.count(name) > 0, "restore_checkpoint: {} holds no state of generator '{}'", from, name);
  try {
    model.load_state_dict(c.model);
    if (optimizer) optimizer->load_state_dict(*c.optimizer);
    if (scheduler) scheduler->load_state_dict(*c.scheduler);
  } catch (const Error& e) {
    throw Error(fmt::format("restore_checkpoint: {}: {}", from, e.what()));
  }
  if (auto it = c.rng.find("default"); it != c.rng.end())
    default_generator().set_state(it->second.seed, it->second.offset);
  for (const auto& [name, gen] : generators) gen->set_state(c.rng.at(name).seed, c.rng.at(name).offset);
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  for (const auto& [name, t] : c.model) check_finite("save_checkpoint", path, name, t);
  write_atomically("save_checkpoint", path, [&](H5File& file) {
    file.set_attr("/", "format_version", checkpoint_format_version);
    file.set_attr("/", "config", c.config);
    write_model(file, c.model);
    if (c.optimizer) write_optimizer(file, *c.optimizer);
    if (c.scheduler) write_scheduler(file, *c.scheduler);
    if (c.data) {
      file.create_group("/data");
      file.set_attr("/data", "epoch", c.data->epoch);
      file.set_attr("/data", "position", c.data->position);
      file.set_attr("/data", "shuffle_seed", as_int(c.data->shuffle_seed));
    }
    for (const auto& [name, state] : c.rng) {
      file.create_group("/rng/" + name);
      file.set_attr("/rng/" + name, "seed", as_int(state.seed));
      file.set_attr("/rng/" + name, "offset", as_int(state.offset));
    }
    for (const auto& [name, tokens] : c.vocab) file.write("/vocab/" + name, tokens);
  });
}

namespace {

Checkpoint read_checkpoint(const H5File& file, bool training_state) {
  const std::string& path = file.path();
  check_version("load_checkpoint", file, true);
  Checkpoint c;
  c.source = path;
  try {
    c.model = read_model(file);
    for (const auto& [name, t] : c.model) check_finite("load_checkpoint", path, name, t);
    if (file.has_attr("/", "config")) c.config = file.attr_string("/", "config");
    if (file.exists("/vocab"))
      for (const std::string& name : file.list("/vocab")) c.vocab[name] = file.read_strings("/vocab/" + name);
    if (!training_state) return c;
    if (file.exists("/optimizer")) c.optimizer = read_optimizer(file);
    if (file.exists("/scheduler")) c.scheduler = read_scheduler(file);
    if (file.exists("/data"))
      c.data = DataPosition{file.attr_int("/data", "epoch"), file.attr_int("/data", "position"),
                            as_uint(file.attr_int("/data", "shuffle_seed"))};
    if (file.exists("/rng"))
      for (const std::string& name : file.list("/rng"))
        c.rng[name] = {as_uint(file.attr_int("/rng/" + name, "seed")),
                       as_uint(file.attr_int("/rng/" + name, "offset"))};
  } catch (const Error& e) {
    throw in_context("load_checkpoint", path, e);
  }
  return c;
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path, bool training_state) {
  return read_checkpoint(*open_for_reading("load_checkpoint", path, true), training_state);
}

Checkpoint load_checkpoint_bytes(std::string bytes, const std::string& name, bool training_state) {
  std::optional<H5File> file;
  try {
    file.emplace(H5File::from_bytes(std::move(bytes), name));
  } catch (const Error& e) {
    throw Error(fmt::format("load_checkpoint: {}", e.what()));
  }
  return read_checkpoint(*file, training_state);
}

std::string load_checkpoint_config(const std::string& path) {
  const auto file = open_for_reading("load_checkpoint_config", path, true);
  try {
    return file->has_attr("/", "config") ? file->attr_string("/", "config") : std::string();
  } catch (const Error& e) {
    throw in_context("load_checkpoint_config", path, e);
  }
}

}  // namespace ag::nn
