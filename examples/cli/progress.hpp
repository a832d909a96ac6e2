// Progress of a long command on stderr, so that stdout stays the command's result.
#pragma once

#include <cstddef>
#include <string>

namespace rmsmp_cli {

/// On a terminal: one bar redrawn in place. Elsewhere (a log file, a CI job, a pipe), where
/// carriage returns would pile up into one unreadable line: a plain line each time the work
/// done passes another tenth, `<label>: <percent>% (<done>/<total>)`, so at most 10 lines, the
/// last at 100%. Nothing with `quiet`.
class Progress {
 public:
  Progress(std::string label, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::size_t done, std::size_t total);
  /// Ends the bar's line (a no-op for plain lines); called by the destructor too.
  void finish();

 private:
  enum class Style { none, bar, lines };
  std::string label_;
  Style style_;
  bool bar_drawn_ = false;
  int tenths_reported_ = 0;  ///< the last tenth written as a plain line
};

}  // namespace rmsmp_cli
