#include "attograd/nn/serialize.h"

#include <cmath>

namespace ag::nn {

void write_h5_atomically(const std::string& op, const std::string& path, const std::function<void(H5File&)>& fill) {
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

void write_state_dict(H5File& file, const NamedTensors& state) {
  file.create_group("/model");
  for (const auto& [name, t] : state) {
    check(!name.empty() && name.find('/') == std::string::npos, "checkpoint: tensor name '{}' is empty or holds '/'",
          name);
    check(t.defined(), "checkpoint: tensor '{}' is undefined", name);
    file.write("/model/" + name, t);
  }
}

void check_format_version(const std::string& op, const H5File& file, bool require_version) {
  if (file.has_attr("/", "format_version")) {
    const int64_t version = file.attr_int("/", "format_version");
    check(version == checkpoint_format_version,
          "{}: '{}' has format_version {}, but this build reads version {} only", op, file.path(), version,
          checkpoint_format_version);
  } else {
    check(!require_version, "{}: '{}' is not an attograd checkpoint (no format_version attribute)", op, file.path());
  }
}

std::unique_ptr<H5File> open_for_reading(const std::string& op, const std::string& path, bool require_version) {
  std::unique_ptr<H5File> file;
  try {
    file = std::make_unique<H5File>(path, H5File::Mode::Read);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", op, e.what()));
  }
  check_format_version(op, *file, require_version);
  return file;
}

void check_finite_tensor(const std::string& op, const std::string& file, const std::string& name, const Tensor& t) {
  if (!t.defined()) return;  // write_state_dict names it
  const float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    check(std::isfinite(p[i]), "{}: '{}': tensor '{}' holds {} at flat index {} (training diverged?)", op, file, name,
          p[i], i);
}

Error in_file_context(const std::string& op, const std::string& path, const Error& e) {
  const std::string what = e.what();
  if (what.find(path) != std::string::npos) return Error(fmt::format("{}: {}", op, what));
  return Error(fmt::format("{}: cannot read '{}': {}", op, path, what));
}

NamedTensors read_state_dict(const H5File& file) {
  check(file.exists("/model"), "'{}' has no /model group", file.path());
  NamedTensors out;
  for (const std::string& name : file.list("/model")) out.emplace_back(name, file.read_tensor("/model/" + name));
  return out;
}

void save_state_dict(const std::string& path, const NamedTensors& state) {
  write_h5_atomically("save_state_dict", path, [&](H5File& file) {
    file.set_attr("/", "format_version", checkpoint_format_version);
    write_state_dict(file, state);
  });
}

NamedTensors load_state_dict_file(const std::string& path) {
  const auto file = open_for_reading("load_state_dict_file", path, false);
  try {
    return read_state_dict(*file);
  } catch (const Error& e) {
    throw in_file_context("load_state_dict_file", path, e);
  }
}

}  // namespace ag::nn
