// The live view on a terminal: event lines scroll as usual, and below them a compact table per
// container is redrawn about once a second, pending freezes first with their age. Used only when
// stdout is a terminal and the events are text; elsewhere lines are plain.
#pragma once

#include "aggregator.h"
#include "episode_tracker.h"

#include <cstdio>
#include <string>
#include <vector>

namespace freezeprobe {

// The table's lines (without ANSI codes), at most max_rows containers, each cut to width.
std::vector<std::string> status_table(const Aggregator &aggregates,
                                      const std::vector<PendingEpisode> &pending,
                                      std::uint64_t now_mono_ns, std::size_t max_rows,
                                      std::size_t width);

class LiveView {
  public:
    explicit LiveView(std::FILE *tty) : out_(tty) {}
    ~LiveView() = default; // the last table stays on the screen
    // Prints an event line above the table.
    void line(const std::string &text);
    // Replaces the table.
    void table(std::vector<std::string> lines);
    void flush() { std::fflush(out_); }
    std::size_t width() const;

  private:
    void clear();
    void draw();

    std::FILE *out_;
    std::vector<std::string> table_;
    std::size_t drawn_ = 0; // table lines now on the screen
};

} // namespace freezeprobe
