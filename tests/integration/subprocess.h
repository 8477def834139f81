// Runs the freezeprobe binary as a child process for the command-line tests.
#pragma once

#include "process.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe::testing {

using freezeprobe::ProcessResult;

// Runs argv to completion (at most 70 s), capturing stdout and stderr, with util/process.h's
// spawn_process in a process group of its own. before_exec runs in the child.
ProcessResult run_process(const std::vector<std::string> &argv,
                          const std::function<void()> &before_exec = {});

// A child whose stdout and stderr are pipes the test reads while it runs.
class RunningProcess {
  public:
    explicit RunningProcess(const std::vector<std::string> &argv);
    ~RunningProcess(); // kills the child by its PID if it still runs
    RunningProcess(const RunningProcess &) = delete;
    RunningProcess &operator=(const RunningProcess &) = delete;

    pid_t pid() const { return pid_; }
    // Reads stderr until a line containing needle arrives; false on EOF or timeout.
    bool wait_for_stderr(const std::string &needle, int timeout_ms);
    // stderr read so far (by wait_for_stderr).
    const std::string &err() const { return err_; }
    // Reads stdout until a whole line has arrived; returns it (without the newline), or nullopt
    // on EOF or timeout.
    std::optional<std::string> read_stdout_line(int timeout_ms);
    // Reads what the child has written so far, without waiting, so that a chatty child never
    // blocks on a full pipe while the test does something else; wait() and stop() return it.
    void collect_output();
    // Closes our end of the child's stdout, as `| head -1` does after its line.
    void close_stdout();
    // Waits for the child to exit by itself and collects the rest of its stderr.
    ProcessResult wait(int timeout_ms);
    // Sends sig and collects the rest of the output and the exit code.
    ProcessResult stop(int sig, int timeout_ms = 10'000);

  private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_, err_;
};

// The freezeprobe binary the tests run: $FREEZEPROBE_BINARY if set (the VM runner's guest has it
// elsewhere), else the one this build made.
std::string freezeprobe_binary();

// The JSON lines a child printed (--events json), one object per line; throws on a line that is
// not valid JSON.
std::vector<nlohmann::json> json_lines(const std::string &text);

} // namespace freezeprobe::testing
