// The command line (docs/report.md), parsed into Options without side effects.
#pragma once

#include "line_sink.h" // EventFormat

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace freezeprobe {

enum class Command { watch, doctor, demo };

struct Options {
    Command command = Command::watch;
    std::optional<double> duration_s; // watch: stop after this many seconds
    EventFormat events = EventFormat::text;
    std::string cgroup_prefix;
    std::string container_prefix;
    std::string namespace_name; // --namespace
    std::string pod_name;       // --pod
    std::string host_root;      // --host-root: where the node's files are
    std::string attach = "auto";
    unsigned stall_after_ms = 500;
    unsigned held_after_s = 60;
    bool verbose = false;
    std::string report_path;          // --report: summary JSON at exit
    std::string junit_path;           // --junit
    std::string metrics_address;      // --metrics HOST:PORT
    std::string metrics_file;         // --metrics-file PATH
    std::set<std::string> fail_on;    // aborted, stall, held, write-error, lost
    std::vector<std::string> wrapped; // COMMAND ARGS... after "--"
    // Hidden (not in --help): the ring buffer's size, so that a test can force lost events.
    std::optional<std::uint32_t> ring_buffer_kib;
    // Hidden: the kprobe mode's kretprobe maxactive, so that a test can force missed returns.
    std::optional<int> kretprobe_maxactive;
};

// The --fail-on conditions, in the order the help lists them.
extern const std::vector<std::string> fail_on_conditions;

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
