#include "attograd/train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "attograd/core/error.h"

namespace ag::train {

namespace {

// The pid the holder wrote into the lock file ("" when unreadable).
std::string holder_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string pid;
  in >> pid;
  return pid;
}

}  // namespace

RunLock::RunLock(const std::filesystem::path& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  check(!ec, "cannot create the run folder {}: {}", run_dir.string(), ec.message());
  const std::filesystem::path file = file_of(run_dir);
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check(fd_ >= 0, "cannot open the lock file {}: {}", file.string(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    check(error == EWOULDBLOCK, "cannot lock {}: {}", file.string(), std::strerror(error));
    const std::string pid = holder_of(file);
    throw Error(fmt::format("{} is in use by another training run ({}; lock {}): wait for it to end, or choose "
                            "another --out",
                            run_dir.string(), pid.empty() ? "pid unknown" : "pid " + pid, file.string()));
  }
  // Ours now: say who holds it, for the message a second run prints. Should this write fail (a
  // full disk), the lock still holds and that message says "pid unknown".
  const std::string pid = std::to_string(::getpid()) + "\n";
  [[maybe_unused]] const bool recorded =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

bool RunLock::held(const std::filesystem::path& run_dir) {
  const int fd = ::open(file_of(run_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

}  // namespace ag::train
