#include "nn/hdf5.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"

namespace ag {

namespace {

// Closes an HDF5 handle with the right function when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

void silence_hdf5_errors() {
  // HDF5 prints its error stack to stderr by default; attograd reports errors itself.
  static const bool once = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)once;
}

// The parent group of "/a/b/c" is "/a/b"; of "/a" it is "/".
std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

hid_t variable_string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

}  // namespace

H5File::H5File(std::string path, Mode mode) : path_(std::move(path)) {
  silence_hdf5_errors();
  if (mode == Mode::Create) {
    file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    check(file_ >= 0, "hdf5: cannot create '{}' (is the directory there and writable?)", path_);
  } else {
    check(std::filesystem::exists(path_), "hdf5: '{}' does not exist", path_);
    check(H5Fis_hdf5(path_.c_str()) > 0, "hdf5: '{}' is unreadable, truncated or not an HDF5 file", path_);
    file_ = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    check(file_ >= 0, "hdf5: cannot open '{}' (truncated or not an HDF5 file?)", path_);
  }
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
}

bool H5File::exists(const std::string& path) const {
  if (path == "/" || path.empty()) return true;
  // H5Lexists fails when an intermediate group is missing, so walk the path one link at a time.
  std::string prefix;
  size_t start = path[0] == '/' ? 1 : 0;
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    prefix += '/';
    prefix += path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return H5Oexists_by_name(file_, path.c_str(), H5P_DEFAULT) > 0;
}

int64_t H5File::open_object(const std::string& path) const {
  check(exists(path), "hdf5: '{}' has no '{}'", path_, path);
  const hid_t id = H5Oopen(file_, path.c_str(), H5P_DEFAULT);
  check(id >= 0, "hdf5: cannot open '{}' in '{}'", path, path_);
  return id;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  Handle g(open_object(group), H5Oclose);
  H5G_info_t info;
  check(H5Gget_info(g.get(), &info) >= 0, "hdf5: '{}' in '{}' is not a group", group, path_);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string name(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

void H5File::create_group(const std::string& path) {
  if (exists(path)) return;
  if (parent_of(path) != "/") create_group(parent_of(path));
  Handle g(H5Gcreate2(file_, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  check(g.get() >= 0, "hdf5: cannot create group '{}' in '{}'", path, path_);
}

namespace {

template <class T>
void write_array(hid_t file, const std::string& file_path, const std::string& path, const Shape& shape, hid_t file_type,
                 hid_t memory_type, const T* data) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle set(H5Dcreate2(file, path.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  check(set.get() >= 0, "hdf5: cannot create dataset '{}' in '{}' (does it exist already?)", path, file_path);
  check(H5Dwrite(set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "hdf5: cannot write '{}' in '{}'",
        path, file_path);
}

}  // namespace

void H5File::write(const std::string& path, const Tensor& t) {
  create_group(parent_of(path));
  write_array(file_, path_, path, t.shape(), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.data());
}

void H5File::write(const std::string& path, const IntTensor& t) {
  create_group(parent_of(path));
  write_array(file_, path_, path, t.shape(), H5T_STD_I64LE, H5T_NATIVE_INT64, t.data());
}

void H5File::write(const std::string& path, const std::vector<std::string>& strings) {
  create_group(parent_of(path));
  std::vector<const char*> pointers;
  for (const std::string& s : strings) pointers.push_back(s.c_str());
  Handle type(variable_string_type(), H5Tclose);
  write_array(file_, path_, path, Shape{static_cast<int64_t>(strings.size())}, type.get(), type.get(), pointers.data());
}

int64_t H5File::open_dataset(const std::string& path, int& rank, std::vector<uint64_t>& dims) const {
  check(exists(path), "hdf5: '{}' has no dataset '{}'", path_, path);
  const hid_t set = H5Dopen2(file_, path.c_str(), H5P_DEFAULT);
  check(set >= 0, "hdf5: '{}' in '{}' is not a dataset", path, path_);
  Handle space(H5Dget_space(set), H5Sclose);
  rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  dims.assign(d.begin(), d.end());
  return set;
}

Tensor H5File::read_tensor(const std::string& path) const {
  int rank = 0;
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, rank, dims), H5Dclose);
  Handle type(H5Dget_type(set.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_FLOAT, "hdf5: dataset '{}' in '{}' does not hold floats", path, path_);
  Tensor t = empty(Shape(dims.begin(), dims.end()));
  check(H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) >= 0,
        "hdf5: cannot read '{}' from '{}' (truncated file?)", path, path_);
  return t;
}

IntTensor H5File::read_ints(const std::string& path) const {
  int rank = 0;
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, rank, dims), H5Dclose);
  Handle type(H5Dget_type(set.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_INTEGER, "hdf5: dataset '{}' in '{}' does not hold integers", path, path_);
  IntTensor t(Shape(dims.begin(), dims.end()));
  check(H5Dread(set.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) >= 0,
        "hdf5: cannot read '{}' from '{}' (truncated file?)", path, path_);
  return t;
}

std::vector<std::string> H5File::read_strings(const std::string& path) const {
  int rank = 0;
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, rank, dims), H5Dclose);
  check(rank == 1, "hdf5: '{}' in '{}' is not a 1-D list of strings", path, path_);
  Handle type(H5Dget_type(set.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_STRING, "hdf5: dataset '{}' in '{}' does not hold strings", path, path_);
  const size_t n = dims[0];
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> raw(n, nullptr);
    Handle memory(variable_string_type(), H5Tclose);
    check(H5Dread(set.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) >= 0,
          "hdf5: cannot read '{}' from '{}'", path, path_);
    for (char* s : raw) out.emplace_back(s ? s : "");
    Handle space(H5Dget_space(set.get()), H5Sclose);
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, raw.data());
  } else {
    const size_t width = H5Tget_size(type.get());
    std::vector<char> raw(n * width);
    check(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) >= 0,
          "hdf5: cannot read '{}' from '{}'", path, path_);
    for (size_t i = 0; i < n; ++i) out.emplace_back(raw.data() + i * width, strnlen(raw.data() + i * width, width));
  }
  return out;
}

void H5File::set_attr(const std::string& path, const std::string& name, const Attribute& value) {
  create_group(path == "/" || exists(path) ? "/" : path);
  Handle object(open_object(path), H5Oclose);
  if (H5Aexists(object.get(), name.c_str()) > 0) H5Adelete(object.get(), name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  auto write = [&](hid_t type, const void* data) {
    Handle attr(H5Acreate2(object.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    check(attr.get() >= 0 && H5Awrite(attr.get(), type, data) >= 0, "hdf5: cannot write attribute '{}' of '{}' in '{}'",
          name, path, path_);
  };
  if (const auto* i = std::get_if<int64_t>(&value)) write(H5T_NATIVE_INT64, i);
  else if (const auto* d = std::get_if<double>(&value)) write(H5T_NATIVE_DOUBLE, d);
  else {
    Handle type(variable_string_type(), H5Tclose);
    const char* text = std::get<std::string>(value).c_str();
    write(type.get(), &text);
  }
}

bool H5File::has_attr(const std::string& path, const std::string& name) const {
  if (!exists(path)) return false;
  Handle object(open_object(path), H5Oclose);
  return H5Aexists(object.get(), name.c_str()) > 0;
}

int64_t H5File::open_attr(const std::string& path, const std::string& name) const {
  check(has_attr(path, name), "hdf5: '{}' in '{}' has no attribute '{}'", path, path_, name);
  return H5Aopen_by_name(file_, path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
}

int64_t H5File::attr_int(const std::string& path, const std::string& name) const {
  Handle attr(open_attr(path, name), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_INTEGER, "hdf5: attribute '{}' of '{}' in '{}' is not an integer", name, path,
        path_);
  int64_t value = 0;
  H5Aread(attr.get(), H5T_NATIVE_INT64, &value);
  return value;
}

double H5File::attr_double(const std::string& path, const std::string& name) const {
  Handle attr(open_attr(path, name), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  check(cls == H5T_FLOAT || cls == H5T_INTEGER, "hdf5: attribute '{}' of '{}' in '{}' is not a number", name, path,
        path_);
  double value = 0;
  H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value);
  return value;
}

std::string H5File::attr_string(const std::string& path, const std::string& name) const {
  Handle attr(open_attr(path, name), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_STRING, "hdf5: attribute '{}' of '{}' in '{}' is not a string", name, path,
        path_);
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle memory(variable_string_type(), H5Tclose);
    char* raw = nullptr;
    H5Aread(attr.get(), memory.get(), &raw);
    std::string value = raw ? raw : "";
    H5free_memory(raw);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  H5Aread(attr.get(), type.get(), value.data());
  value.resize(strnlen(value.data(), value.size()));
  return value;
}

std::vector<std::string> H5File::attr_names(const std::string& path) const {
  Handle object(open_object(path), H5Oclose);
  H5O_info_t info;
  H5Oget_info2(object.get(), &info, H5O_INFO_NUM_ATTRS);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t n = H5Aget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string name(static_cast<size_t>(n), '\0');
    H5Aget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

void H5File::flush() { H5Fflush(file_, H5F_SCOPE_GLOBAL); }

}  // namespace ag
