// How `freezeprobe watch` ends: the exit code from what happened (docs/report.md, exit codes),
// and the one line on stderr that says why. Pure: unit-tested without a probe.
#pragma once

#include "aggregator.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace freezeprobe {

// The --fail-on conditions that were hit, each as "name (count)", in the contract's order.
std::vector<std::string> failed_conditions(const std::set<std::string> &fail_on,
                                           const Aggregator &aggregates);

struct RunEnd {
    bool output_ok = true;  // the events could be written to stdout to the end
    int output_errno = 0;   // why not
    bool reports_ok = true; // --report, --junit and --metrics-file were written
    // watch -- COMMAND: the command's name, and its exit code once it has ended.
    std::optional<std::string> command;
    std::optional<int> command_exit;
    std::vector<std::string> fail_on_hit; // failed_conditions()
};

struct ExitDecision {
    int code = 0;
    std::string message; // for stderr, "" when there is nothing to say
};

// In this order: a broken stdout (1); a command still running (1); the command's own failure
// (its code); a --fail-on condition (3); a report that could not be written (1); else 0.
ExitDecision decide_exit(const RunEnd &end);

} // namespace freezeprobe
