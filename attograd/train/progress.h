#pragma once
// ProgressBar: one line that redraws itself on a terminal ("epoch 1/5 [=====>    ] 312/782 loss ...
// 5,320 tok/s ETA 1:23"), or, when output goes to a file or a pipe, a plain line every 10%.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ag::train {

class ProgressBar {
 public:
  /// `total` steps; `unit` names what update()'s `units` counts for the rate ("tok" -> "tok/s";
  /// empty: steps per second). Writes to `out` (stderr by default); terminal mode when it is a tty.
  /// Under mpirun only rank 0 draws (ag::dist): one bar for the run, not one per process.
  ProgressBar(std::string label, int64_t total, std::string unit = "", std::FILE* out = stderr);
  /// Reports `done` steps and `units` processed so far, with a short metrics text ("loss 0.41").
  void update(int64_t done, const std::string& metrics = "", double units = -1);
  /// Ends the line with a final summary (time taken, mean rate).
  void finish(const std::string& summary = "");

  /// "1:23" or "1:02:03".
  static std::string format_duration(double seconds);
  /// "5,320".
  static std::string format_count(double value);

 private:
  std::string line(int64_t done, const std::string& metrics, double units) const;
  double elapsed() const;
  std::string label_, unit_;
  int64_t total_;
  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_ = -1;
  int64_t last_decile_ = -1;
  int64_t done_ = 0;
  double units_ = -1;
  std::string metrics_;
};

}  // namespace ag::train
