#include "wrapped_command.h"

#include <cerrno>
#include <fcntl.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {

WrappedCommand::WrappedCommand(const std::vector<std::string> &argv) {
    std::vector<char *> args;
    for (auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    // Reports exec failure back to the parent: the pipe closes on a successful exec.
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        ::close(pipefd[0]);
        // freezeprobe ignores SIGPIPE and handles SIGINT/SIGTERM; the command gets the defaults.
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::execvp(args[0], args.data());
        int err = errno;
        [[maybe_unused]] auto n = ::write(pipefd[1], &err, sizeof(err));
        ::_exit(127);
    }
    ::close(pipefd[1]);
    int err = 0;
    ssize_t n;
    while ((n = ::read(pipefd[0], &err, sizeof(err))) < 0 && errno == EINTR) {
    }
    ::close(pipefd[0]);
    if (n == sizeof(err)) {
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::system_error(err, std::generic_category(), "cannot run " + argv[0]);
    }
}

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
