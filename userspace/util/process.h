// The one way freezeprobe, its fixtures and its tests start a program: fork and exec with an
// argv, never a shell; only the child that was started is ever waited for or killed, by its PID.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe {

enum class ChildStdio {
    pipe,    // stdout and stderr are pipes the parent reads; stdin /dev/null
    null,    // stdin, stdout and stderr are /dev/null (a detached container inherits them)
    inherit, // the parent's (watch -- COMMAND)
};

struct SpawnOptions {
    ChildStdio stdio = ChildStdio::pipe;
    // Look argv[0] up in PATH (execvp) instead of taking it as a path.
    bool search_path = false;
    // The child first enters a private mount namespace in which this mount (the host's cgroup2
    // mount point) is bound onto /sys/fs/cgroup: runc then runs in cgroup v2 mode. A bind, not a
    // new cgroup2 mount, which would apply its (absent) options, such as nsdelegate, to the
    // host's hierarchy.
    std::string bind_cgroup2;
    // Runs in the child just before exec (tests: drop capabilities, start a process group).
    std::function<void()> in_child;
};

// A started child. Throws std::system_error when fork, a pipe or exec fails (an exec failure is
// reported back through a close-on-exec pipe, so a missing program is an error at once).
struct Child {
    pid_t pid = -1;
    int out_fd = -1; // with ChildStdio::pipe
    int err_fd = -1;
};
Child spawn_process(const std::vector<std::string> &argv, const SpawnOptions &options = {});

// The exit code of a child that could not set up its mount namespace (bind_cgroup2).
inline constexpr int exit_child_setup_failed = 125;

struct ProcessResult {
    int exit_code = -1; // -1 when killed by a signal, timed out, or not started
    std::string out, err;
};

// Runs argv to completion, reading its output while it runs. On timeout the child is killed by
// its PID. The output of a grandchild that keeps a pipe open is not waited for. A program that
// cannot be started gives exit_code -1 and the reason in err.
ProcessResult run_process(const std::vector<std::string> &argv, std::chrono::milliseconds timeout,
                          const SpawnOptions &options = {});

// Whether a process with this PID exists now (kill with signal 0: nothing is sent).
bool process_exists(pid_t pid);

// An executable called name in PATH or the usual bin and sbin directories; nullopt if none.
std::optional<std::string> find_program(const std::string &name);
// First line of `name --version` ("runc version 1.1.5"), "" if not installed.
std::string program_version(const std::string &name);

} // namespace freezeprobe
