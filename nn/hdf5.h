#pragma once
// H5File: a small RAII wrapper over the HDF5 C API for what attograd stores: float32 tensors, int64
// tensors, string lists, and scalar attributes, addressed by '/'-separated paths.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace ag {

/// An open HDF5 file. Every failure raises ag::Error naming the file and the path inside it.
class H5File {
 public:
  enum class Mode { Read, Create };  // Create truncates an existing file
  H5File(std::string path, Mode mode);
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  const std::string& path() const { return path_; }

  /// True when a group or dataset exists at `path` (e.g. "/model/linear.weight").
  bool exists(const std::string& path) const;
  /// Names of the members of a group, in HDF5's (alphabetical) order.
  std::vector<std::string> list(const std::string& group) const;

  /// Writes a float32 dataset (creating intermediate groups). Names may contain '.', not '/'.
  void write(const std::string& path, const Tensor& t);
  void write(const std::string& path, const IntTensor& t);
  void write(const std::string& path, const std::vector<std::string>& strings);
  /// Reads a float dataset (any float type is converted to float32).
  Tensor read_tensor(const std::string& path) const;
  /// Reads an integer dataset as int64.
  IntTensor read_ints(const std::string& path) const;
  /// Reads a 1-D string dataset (variable- or fixed-length).
  std::vector<std::string> read_strings(const std::string& path) const;

  using Attribute = std::variant<int64_t, double, std::string>;
  /// Sets an attribute on the group or dataset at `path` ("/" for the file), creating the group.
  void set_attr(const std::string& path, const std::string& name, const Attribute& value);
  bool has_attr(const std::string& path, const std::string& name) const;
  int64_t attr_int(const std::string& path, const std::string& name) const;
  double attr_double(const std::string& path, const std::string& name) const;
  std::string attr_string(const std::string& path, const std::string& name) const;
  /// Names of the attributes on the object at `path`.
  std::vector<std::string> attr_names(const std::string& path) const;

  /// Creates a group (and its parents) if missing.
  void create_group(const std::string& path);
  /// Writes everything to disk (a checkpoint flushes before its rename).
  void flush();

 private:
  int64_t open_object(const std::string& path) const;  // an hid_t, raises if missing
  int64_t open_dataset(const std::string& path, int& rank, std::vector<uint64_t>& dims) const;
  int64_t open_attr(const std::string& path, const std::string& name) const;
  std::string path_;
  int64_t file_ = -1;  // hid_t
};

}  // namespace ag
