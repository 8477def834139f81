// The command line (DESIGN.md section 5), parsed into Options without side effects.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace freezeprobe {

enum class Command { watch, doctor, demo };
enum class EventFormat { text, json, none };

struct Options {
    Command command = Command::watch;
    std::optional<double> duration_s; // watch: stop after this many seconds
    EventFormat events = EventFormat::text;
    std::string cgroup_prefix;
    std::string container_prefix;
    std::string attach = "auto";
    unsigned stall_after_ms = 500;
    bool verbose = false;
};

// Documented exit codes.
enum ExitCode { exit_ok = 0, exit_cannot_run = 1, exit_usage = 2, exit_fail_on = 3 };

struct ParsedCommandLine {
    std::optional<Options> options; // nullopt: exit with exit_code after printing output
    int exit_code = exit_ok;
    std::string output; // help or version text (stdout), or the usage error (stderr)
};

ParsedCommandLine parse_command_line(const std::vector<std::string> &args);

extern const char *const version_string;

} // namespace freezeprobe
