#include "progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace rmsmp_cli {

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), style_(quiet ? Style::none : isatty(STDERR_FILENO) == 1 ? Style::bar : Style::lines) {}

Progress::~Progress() { finish(); }

void Progress::update(std::size_t done, std::size_t total) {
  if (style_ == Style::none || total == 0) return;
  // Whole numbers, so that 12 of 40 is 3 tenths and 30%, not 2.999... and 29%.
  const int percent = static_cast<int>(done * 100 / total);
  if (style_ == Style::lines) {
    const int tenths = static_cast<int>(done * 10 / total);
    if (tenths <= tenths_reported_) return;
    tenths_reported_ = tenths;
    std::fprintf(stderr, "%s: %d%% (%zu/%zu)\n", label_.c_str(), percent, done, total);
    std::fflush(stderr);
    return;
  }
  constexpr int width = 30;
  const int filled = static_cast<int>(done * width / total);
  std::fprintf(stderr, "\r%-10s [%s%s] %3d%% (%zu/%zu)", label_.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), percent, done, total);
  std::fflush(stderr);
  bar_drawn_ = true;
}

void Progress::finish() {
  if (bar_drawn_) std::fprintf(stderr, "\n");
  bar_drawn_ = false;
}

}  // namespace rmsmp_cli
