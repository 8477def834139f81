#include "wrapped_command.h"

#include "process.h"

#include <csignal>
#include <sys/wait.h>

namespace freezeprobe {

WrappedCommand::WrappedCommand(const std::vector<std::string> &argv)
    : pid_(spawn_process(argv, {ChildStdio::inherit, true, {}, {}}).pid) {}

WrappedCommand::~WrappedCommand() {
    if (pid_ <= 0 || exit_)
        return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

std::optional<int> WrappedCommand::poll_exit() {
    if (exit_ || pid_ <= 0)
        return exit_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
        exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_;
}

void WrappedCommand::forward(int sig) {
    if (pid_ > 0 && !exit_)
        ::kill(pid_, sig);
}

} // namespace freezeprobe
