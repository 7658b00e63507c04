#include "attograd/train/run_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "attograd/core/error.h"
#include "attograd/nn/hdf5.h"

namespace ag::train {

namespace {


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

Checkpoint make_checkpoint(const nn::Module& model, const optim::Optimizer* optimizer, const optim::Scheduler* scheduler,
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

void restore_checkpoint(const Checkpoint& c, nn::Module& model, optim::Optimizer* optimizer, optim::Scheduler* scheduler,
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
  for (const auto& [name, t] : c.model) nn::check_finite_tensor("save_checkpoint", path, name, t);
  nn::write_h5_atomically("save_checkpoint", path, [&](H5File& file) {
    file.set_attr("/", "format_version", checkpoint_format_version);
    file.set_attr("/", "config", c.config);
    nn::write_state_dict(file, c.model);
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
  nn::check_format_version("load_checkpoint", file, true);
  Checkpoint c;
  c.source = path;
  try {
    c.model = nn::read_state_dict(file);
    for (const auto& [name, t] : c.model) nn::check_finite_tensor("load_checkpoint", path, name, t);
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
    throw nn::in_file_context("load_checkpoint", path, e);
  }
  return c;
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path, bool training_state) {
  return read_checkpoint(*nn::open_for_reading("load_checkpoint", path, true), training_state);
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
  const auto file = nn::open_for_reading("load_checkpoint_config", path, true);
  try {
    return file->has_attr("/", "config") ? file->attr_string("/", "config") : std::string();
  } catch (const Error& e) {
    throw nn::in_file_context("load_checkpoint_config", path, e);
  }
}

ResumePoint read_resume_point(const std::string& run_dir, const std::string& program,
                              const std::vector<std::string>& keys) {
  ResumePoint r;
  r.path = (std::filesystem::path(run_dir) / "last.h5").string();
  try {
    r.last = load_checkpoint(r.path);
  } catch (const Error& e) {
    throw Error(fmt::format("--resume {}: {}", run_dir, e.what()));
  }
  r.config = nlohmann::json::parse(r.last.config, nullptr, /*allow_exceptions=*/false);
  check(r.config.is_object(), "--resume {}: {} is not a training checkpoint of {} (its config is not a JSON object)",
        run_dir, r.path, program);
  for (const std::string& key : keys)
    check(r.config.contains(key), "--resume {}: {} is not a training checkpoint of {} (its config has no \"{}\")",
          run_dir, r.path, program, key);
  check(r.last.optimizer && r.last.data, "--resume {}: {} holds no training state (a best.h5 copied there?)", run_dir,
        r.path);
  return r;
}

}  // namespace ag::train
