#include "exit_policy.h"

#include "cli.h"

#include <cstring>
#include <fmt/format.h>

namespace freezeprobe {

std::vector<std::string> failed_conditions(const std::set<std::string> &fail_on,
                                           const Aggregator &a) {
    std::vector<std::string> hit;
    auto check = [&](const char *name, std::uint64_t n) {
        if (n && fail_on.contains(name))
            hit.push_back(fmt::format("{} ({})", name, n));
    };
    check("aborted", a.aborted());
    check("stall", a.stalls());
    check("held", a.held());
    check("write-error", a.write_errors());
    check("lost", a.events_lost());
    return hit;
}

ExitDecision decide_exit(const RunEnd &end) {
    if (!end.output_ok)
        return {exit_cannot_run, fmt::format("stopped: writing events to stdout failed: {}",
                                             std::strerror(end.output_errno))};
    if (end.command && !end.command_exit)
        return {exit_cannot_run, fmt::format("{} still runs; killing it", *end.command)};
    if (end.command_exit && *end.command_exit != 0)
        return {*end.command_exit,
                fmt::format("{} exited with {}", *end.command, *end.command_exit)};
    if (!end.fail_on_hit.empty()) {
        std::string list;
        for (auto &h : end.fail_on_hit)
            list += (list.empty() ? "" : ", ") + h;
        return {exit_fail_on, "--fail-on conditions hit: " + list};
    }
    return {end.reports_ok ? exit_ok : exit_cannot_run, ""};
}

} // namespace freezeprobe
