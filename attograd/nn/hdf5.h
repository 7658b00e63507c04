#pragma once
// H5File: a small RAII wrapper over the HDF5 C API for what attograd stores: float32 tensors, int64
// tensors, string lists, and scalar attributes, addressed by '/'-separated paths.
//
// libhdf5 never touches the disk here. A file is read whole into memory, its seal checked
// (attograd/nn/sealed_file.h), and parsed from that image; a new file is built in memory and written out by
// close() in one atomic, verified write. So a full disk or a size limit is an ag::Error naming the
// file, never a half-written file, and a damaged file is refused before libhdf5 parses it.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

/// An open HDF5 file. Every failure raises ag::Error naming the file and the path inside it.
class H5File {
 public:
  enum class Mode {
    Read,   // reads the file (sealed by attograd, or plain HDF5 such as h5py writes)
    Create  // an empty file in memory; close() writes it to the path (replacing a file there)
  };
  H5File(std::string path, Mode mode);
  /// Opens the bytes of a file held in memory, checked as Mode::Read checks a file; `name` is what
  /// messages call it.
  static H5File from_bytes(std::string bytes, std::string name);
  ~H5File();
  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&&) = delete;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  /// Create: seals the file and writes it to its path atomically (see write_file_atomically); on
  /// failure the file at the path is untouched. Read: releases the file. Raises on failure. A
  /// created file that is destroyed without close() is not written.
  void close();
  /// The sealed bytes of a created file, as close() would write them.
  std::string bytes() const;

  const std::string& path() const { return path_; }

  /// True when a group or dataset exists at `path` (e.g. "/model/linear.weight").
  bool exists(const std::string& path) const;
  /// Names of the members of a group, in HDF5's (alphabetical) order.
  std::vector<std::string> list(const std::string& group) const;

  /// Writes a float32 dataset (creating intermediate groups). Names may contain '.', not '/'.
  void write(const std::string& path, const Tensor& t);
  void write(const std::string& path, const IntTensor& t);
  void write(const std::string& path, const std::vector<std::string>& strings);
  /// The shape of a dataset, without reading it.
  Shape shape_of(const std::string& path) const;
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

 private:
  H5File() = default;
  void open_bytes(std::string bytes);
  int64_t open_object(const std::string& path) const;  // an hid_t, raises if missing
  // A dataset and its shape; with to_read, refused when the file cannot hold what it claims.
  int64_t open_dataset(const std::string& path, std::vector<uint64_t>& dims, bool to_read = true) const;
  int64_t open_attr(const std::string& path, const std::string& name) const;
  void check_storage(int64_t set, const std::string& path, const std::vector<uint64_t>& dims) const;
  std::string path_;
  int64_t file_ = -1;  // hid_t
  bool writable_ = false;
  size_t file_bytes_ = 0;  // the size of a file read: no dataset in it can hold more
};

}  // namespace ag
