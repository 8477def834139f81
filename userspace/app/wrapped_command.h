// `freezeprobe watch -- COMMAND ARGS...`: the command a CI job runs under the probe (an e2e
// suite). Started after the probe is attached, with freezeprobe's stdio; its exit status becomes
// freezeprobe's.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe {

class WrappedCommand {
  public:
    // Starts argv[0] (looked up in PATH); throws std::system_error if it cannot be started.
    explicit WrappedCommand(const std::vector<std::string> &argv);
    // Kills the command by its PID if it still runs (freezeprobe itself is going away).
    ~WrappedCommand();
    WrappedCommand(const WrappedCommand &) = delete;
    WrappedCommand &operator=(const WrappedCommand &) = delete;

    pid_t pid() const { return pid_; }
    // The exit code once it has ended (128 + N when killed by signal N), without waiting.
    std::optional<int> poll_exit();
    // Passes a stop request on (SIGTERM from CI, Ctrl-C reaches it through the terminal anyway).
    void forward(int sig);

  private:
    pid_t pid_ = -1;
    std::optional<int> exit_;
};

} // namespace freezeprobe
