#include "attograd/nn/hdf5.h"

#include <hdf5.h>

#include <atomic>
#include <cstring>
#include <limits>

#include "attograd/core/error.h"
#include "attograd/nn/sealed_file.h"

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
  bool ok() const { return id_ >= 0; }

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
  check(type >= 0 && H5Tset_size(type, H5T_VARIABLE) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0,
        "hdf5: cannot make a string type");
  return type;
}

// A file access list for the core (memory) driver with no backing file: libhdf5 never opens a
// file on disk, attograd reads and writes the bytes itself.
hid_t memory_file_access() {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  check(fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, /*backing_store=*/false) >= 0,
        "hdf5: cannot set up the memory driver");
  return fapl;
}

// The name libhdf5 knows an in-memory file by. The memory driver refuses a name that exists on
// disk when it is given an image, and takes two open files of one name for the same file, so each
// gets a name of its own that is no path on disk.
std::string memory_name(const std::string& path) {
  static std::atomic<uint64_t> count{0};
  return fmt::format("<attograd memory file {}> {}", ++count, path);
}

// Creation properties for groups and datasets: no modification times, so the same content always
// gives the same bytes (a resumed run's checkpoint can be compared with `cmp`).
hid_t timeless(hid_t cls) {
  const hid_t plist = H5Pcreate(cls);
  check(plist >= 0 && H5Pset_obj_track_times(plist, false) >= 0, "hdf5: cannot make a creation property list");
  return plist;
}

// a * b, raising when it does not fit in 64 bits (dimensions read from a file can be anything).
uint64_t checked_product(uint64_t a, uint64_t b, const std::string& what) {
  check(b == 0 || a <= std::numeric_limits<uint64_t>::max() / b, "hdf5: {} overflows 64 bits (damaged file?)", what);
  return a * b;
}

}  // namespace

H5File::H5File(std::string path, Mode mode) : path_(std::move(path)) {
  silence_hdf5_errors();
  if (mode == Mode::Create) {
    Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    check(fcpl.ok() && H5Pset_userblock(fcpl.get(), kSealSize) >= 0, "hdf5: cannot reserve the seal for '{}'",
          path_);
    Handle fapl(memory_file_access(), H5Pclose);
    file_ = H5Fcreate(memory_name(path_).c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
    check(file_ >= 0, "hdf5: cannot create '{}' in memory", path_);
    writable_ = true;
    return;
  }
  std::string bytes;
  try {
    bytes = read_whole_file(path_);
  } catch (const Error& e) {
    throw Error(fmt::format("hdf5: {}", e.what()));
  }
  open_bytes(std::move(bytes));
}

H5File H5File::from_bytes(std::string bytes, std::string name) {
  silence_hdf5_errors();
  H5File file;
  file.path_ = std::move(name);
  file.open_bytes(std::move(bytes));
  return file;
}

void H5File::open_bytes(std::string bytes) {
  verify_seal(bytes, path_);
  file_bytes_ = bytes.size();
  Handle fapl(memory_file_access(), H5Pclose);
  check(H5Pset_file_image(fapl.get(), bytes.data(), bytes.size()) >= 0, "hdf5: cannot load '{}' into memory ({} bytes)",
        path_, bytes.size());
  bytes = std::string();  // libhdf5 holds its own copy now
  file_ = H5Fopen(memory_name(path_).c_str(), H5F_ACC_RDONLY, fapl.get());
  check(file_ >= 0, "hdf5: '{}' is unreadable, truncated or not an HDF5 file", path_);
}

H5File::H5File(H5File&& other) noexcept
    : path_(std::move(other.path_)), file_(other.file_), writable_(other.writable_), file_bytes_(other.file_bytes_) {
  other.file_ = -1;
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
}

std::string H5File::bytes() const {
  check(writable_ && file_ >= 0, "hdf5: '{}' was not created here, or is closed", path_);
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, "hdf5: cannot flush '{}'", path_);
  const ssize_t size = H5Fget_file_image(file_, nullptr, 0);
  check(size >= static_cast<ssize_t>(kSealSize), "hdf5: cannot take the image of '{}'", path_);
  // The memory driver's image starts at the superblock, without the user block the superblock
  // points past (its base address is kSealSize): put the room for the seal in front of it.
  std::string image(kSealSize + static_cast<size_t>(size), '\0');
  check(H5Fget_file_image(file_, image.data() + kSealSize, static_cast<size_t>(size)) == size,
        "hdf5: cannot take the image of '{}'", path_);
  check(image.compare(kSealSize, 4, "\x89HDF") == 0, "hdf5: the image of '{}' does not start with a superblock",
        path_);
  seal(image);
  return image;
}

void H5File::close() {
  if (file_ < 0) return;
  std::string image;
  if (writable_) image = bytes();
  const herr_t closed = H5Fclose(file_);
  file_ = -1;
  check(closed >= 0, "hdf5: cannot close '{}'", path_);
  if (writable_) write_file_atomically(path_, image);
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
    check(n >= 0, "hdf5: cannot read the name of member {} of '{}' in '{}'", i, group, path_);
    std::string name(static_cast<size_t>(n), '\0');
    check(H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT) == n,
          "hdf5: cannot read the name of member {} of '{}' in '{}'", i, group, path_);
    names.push_back(std::move(name));
  }
  return names;
}

void H5File::create_group(const std::string& path) {
  if (exists(path)) return;
  if (parent_of(path) != "/") create_group(parent_of(path));
  Handle gcpl(timeless(H5P_GROUP_CREATE), H5Pclose);
  Handle g(H5Gcreate2(file_, path.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  check(g.ok(), "hdf5: cannot create group '{}' in '{}'", path, path_);
}

namespace {

template <class T>
void write_array(hid_t file, const std::string& file_path, const std::string& path, const Shape& shape, hid_t file_type,
                 hid_t memory_type, const T* data) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  check(space.ok(), "hdf5: cannot describe the shape of '{}' in '{}'", path, file_path);
  Handle dcpl(timeless(H5P_DATASET_CREATE), H5Pclose);
  Handle set(H5Dcreate2(file, path.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  check(set.ok(), "hdf5: cannot create dataset '{}' in '{}' (does it exist already?)", path, file_path);
  check(H5Dwrite(set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "hdf5: cannot write '{}' in '{}'",
        path, file_path);
}

}  // namespace

void H5File::write(const std::string& path, const Tensor& t) {
  check(writable_, "hdf5: '{}' is open for reading; cannot write '{}'", path_, path);
  create_group(parent_of(path));
  write_array(file_, path_, path, t.shape(), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.data());
}

void H5File::write(const std::string& path, const IntTensor& t) {
  check(writable_, "hdf5: '{}' is open for reading; cannot write '{}'", path_, path);
  create_group(parent_of(path));
  write_array(file_, path_, path, t.shape(), H5T_STD_I64LE, H5T_NATIVE_INT64, t.data());
}

void H5File::write(const std::string& path, const std::vector<std::string>& strings) {
  check(writable_, "hdf5: '{}' is open for reading; cannot write '{}'", path_, path);
  create_group(parent_of(path));
  std::vector<const char*> pointers;
  for (const std::string& s : strings) pointers.push_back(s.c_str());
  Handle type(variable_string_type(), H5Tclose);
  write_array(file_, path_, path, Shape{static_cast<int64_t>(strings.size())}, type.get(), type.get(), pointers.data());
}

int64_t H5File::open_dataset(const std::string& path, std::vector<uint64_t>& dims, bool to_read) const {
  check(exists(path), "hdf5: '{}' has no dataset '{}'", path_, path);
  Handle set(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), H5Dclose);
  check(set.ok(), "hdf5: '{}' in '{}' is not a dataset", path, path_);
  Handle space(H5Dget_space(set.get()), H5Sclose);
  check(space.ok(), "hdf5: cannot read the shape of '{}' in '{}'", path, path_);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  check(rank >= 0 && rank <= 32, "hdf5: '{}' in '{}' has no readable shape", path, path_);
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  check(rank == 0 || H5Sget_simple_extent_dims(space.get(), d.data(), nullptr) == rank,
        "hdf5: cannot read the shape of '{}' in '{}'", path, path_);
  for (hsize_t n : d)
    check(n <= static_cast<hsize_t>(std::numeric_limits<int64_t>::max()), "hdf5: '{}' in '{}' has a dimension of {}",
          path, path_, n);
  dims.assign(d.begin(), d.end());
  if (to_read) check_storage(set.get(), path, dims);
  const hid_t id = set.get();
  H5Iinc_ref(id);  // the Handle releases its reference; the caller owns this one
  return id;
}

// Refuses a dataset that claims more elements than the file holds bytes for, before anything is
// allocated for it: a few damaged bytes in a shape must not make the reader allocate gigabytes.
void H5File::check_storage(int64_t set, const std::string& path, const std::vector<uint64_t>& dims) const {
  Handle type(H5Dget_type(set), H5Tclose);
  check(type.ok(), "hdf5: cannot read the type of '{}' in '{}'", path, path_);
  uint64_t count = 1;
  for (uint64_t d : dims) count = checked_product(count, d, fmt::format("the size of '{}' in '{}'", path, path_));
  const uint64_t needed = checked_product(count, H5Tget_size(type.get()), fmt::format("the bytes of '{}'", path));
  Handle dcpl(H5Dget_create_plist(set), H5Pclose);
  check(dcpl.ok(), "hdf5: cannot read the layout of '{}' in '{}'", path, path_);
  const int filters = H5Pget_nfilters(dcpl.get());
  const uint64_t stored = H5Dget_storage_size(set);
  // Deflate, the one compression h5py offers by default, expands by at most 1032:1.
  const uint64_t can_hold = filters == 0 ? stored : checked_product(stored, 1032, "the compressed size") + 4096;
  check(needed <= can_hold && (file_bytes_ == 0 || stored <= file_bytes_),
        "hdf5: '{}' in '{}' claims {} elements ({} bytes) but the file holds {} bytes of it (damaged file?)", path,
        path_, count, needed, stored);
}

Shape H5File::shape_of(const std::string& path) const {
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, dims, /*to_read=*/false), H5Dclose);
  return Shape(dims.begin(), dims.end());
}

Tensor H5File::read_tensor(const std::string& path) const {
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, dims), H5Dclose);
  Handle type(H5Dget_type(set.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_FLOAT, "hdf5: dataset '{}' in '{}' does not hold floats", path, path_);
  Tensor t = empty(Shape(dims.begin(), dims.end()));
  check(H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) >= 0,
        "hdf5: cannot read '{}' from '{}' (truncated file?)", path, path_);
  return t;
}

IntTensor H5File::read_ints(const std::string& path) const {
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, dims), H5Dclose);
  Handle type(H5Dget_type(set.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_INTEGER, "hdf5: dataset '{}' in '{}' does not hold integers", path, path_);
  IntTensor t(Shape(dims.begin(), dims.end()));
  check(H5Dread(set.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) >= 0,
        "hdf5: cannot read '{}' from '{}' (truncated file?)", path, path_);
  return t;
}

std::vector<std::string> H5File::read_strings(const std::string& path) const {
  std::vector<uint64_t> dims;
  Handle set(open_dataset(path, dims), H5Dclose);
  check(dims.size() == 1, "hdf5: '{}' in '{}' is not a 1-D list of strings", path, path_);
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
    check(width > 0, "hdf5: '{}' in '{}' has strings of no width", path, path_);
    std::vector<char> raw(n * width);  // bounded by check_storage
    check(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) >= 0,
          "hdf5: cannot read '{}' from '{}'", path, path_);
    for (size_t i = 0; i < n; ++i) out.emplace_back(raw.data() + i * width, strnlen(raw.data() + i * width, width));
  }
  return out;
}

void H5File::set_attr(const std::string& path, const std::string& name, const Attribute& value) {
  check(writable_, "hdf5: '{}' is open for reading; cannot set attribute '{}'", path_, name);
  create_group(path == "/" || exists(path) ? "/" : path);
  Handle object(open_object(path), H5Oclose);
  if (H5Aexists(object.get(), name.c_str()) > 0)
    check(H5Adelete(object.get(), name.c_str()) >= 0, "hdf5: cannot replace attribute '{}' of '{}' in '{}'", name,
          path, path_);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  auto write = [&](hid_t type, const void* data) {
    Handle attr(H5Acreate2(object.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    check(attr.ok() && H5Awrite(attr.get(), type, data) >= 0, "hdf5: cannot write attribute '{}' of '{}' in '{}'",
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

// Opens a scalar attribute: reading one value into a buffer of one must not overrun it.
int64_t H5File::open_attr(const std::string& path, const std::string& name) const {
  check(has_attr(path, name), "hdf5: '{}' in '{}' has no attribute '{}'", path, path_, name);
  Handle attr(H5Aopen_by_name(file_, path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  check(attr.ok(), "hdf5: cannot open attribute '{}' of '{}' in '{}'", name, path, path_);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  check(space.ok() && H5Sget_simple_extent_npoints(space.get()) == 1,
        "hdf5: attribute '{}' of '{}' in '{}' is not a single value", name, path, path_);
  const hid_t id = attr.get();
  H5Iinc_ref(id);
  return id;
}

int64_t H5File::attr_int(const std::string& path, const std::string& name) const {
  Handle attr(open_attr(path, name), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  check(H5Tget_class(type.get()) == H5T_INTEGER, "hdf5: attribute '{}' of '{}' in '{}' is not an integer", name, path,
        path_);
  int64_t value = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value) >= 0, "hdf5: cannot read attribute '{}' of '{}' in '{}'", name,
        path, path_);
  return value;
}

double H5File::attr_double(const std::string& path, const std::string& name) const {
  Handle attr(open_attr(path, name), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  check(cls == H5T_FLOAT || cls == H5T_INTEGER, "hdf5: attribute '{}' of '{}' in '{}' is not a number", name, path,
        path_);
  double value = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) >= 0, "hdf5: cannot read attribute '{}' of '{}' in '{}'", name,
        path, path_);
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
    check(H5Aread(attr.get(), memory.get(), &raw) >= 0, "hdf5: cannot read attribute '{}' of '{}' in '{}'", name, path,
          path_);
    std::string value = raw ? raw : "";
    H5free_memory(raw);
    return value;
  }
  const size_t width = H5Tget_size(type.get());
  check(width > 0 && (file_bytes_ == 0 || width <= file_bytes_),
        "hdf5: attribute '{}' of '{}' in '{}' claims a string of {} bytes (damaged file?)", name, path, path_, width);
  std::string value(width, '\0');
  check(H5Aread(attr.get(), type.get(), value.data()) >= 0, "hdf5: cannot read attribute '{}' of '{}' in '{}'", name,
        path, path_);
  value.resize(strnlen(value.data(), value.size()));
  return value;
}

std::vector<std::string> H5File::attr_names(const std::string& path) const {
  Handle object(open_object(path), H5Oclose);
  H5O_info_t info;
  check(H5Oget_info2(object.get(), &info, H5O_INFO_NUM_ATTRS) >= 0, "hdf5: cannot list the attributes of '{}' in '{}'",
        path, path_);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t n = H5Aget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    check(n >= 0, "hdf5: cannot read the name of attribute {} of '{}' in '{}'", i, path, path_);
    std::string name(static_cast<size_t>(n), '\0');
    check(H5Aget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT) == n,
          "hdf5: cannot read the name of attribute {} of '{}' in '{}'", i, path, path_);
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace ag
