// What the reports say about the run itself, beside the aggregates: filled in by the command that
// ran the probe, read by the summary report and JUnit writers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace freezeprobe {

struct RunInfo {
    std::string version;
    std::string attach_mode;
    // The better attach modes that were refused, in order, with the reason ({mode, reason}).
    std::vector<std::pair<std::string, std::string>> attach_refused;
    std::string kernel;
    std::uint64_t started_ns = 0, ended_ns = 0; // CLOCK_REALTIME
    std::vector<std::string> command;           // wrapped command, may be empty
    std::optional<int> command_exit;
};

} // namespace freezeprobe
