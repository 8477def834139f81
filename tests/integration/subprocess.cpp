#include "subprocess.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <system_error>
#include <utility>

namespace freezeprobe::testing {
namespace {

// The tests' children run in a process group of their own, so that a test's Ctrl-C does not reach
// them twice.
Child spawn_in_group(const std::vector<std::string> &argv,
                     const std::function<void()> &before_exec) {
    return spawn_process(argv, {ChildStdio::pipe, false, {}, [&before_exec] {
                                    ::setpgid(0, 0);
                                    if (before_exec)
                                        before_exec();
                                }});
}

// Reads what is available from the fds into the strings until both reach EOF or time runs out.
void drain(int out_fd, int err_fd, std::string &out, std::string &err, int timeout_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string *sinks[2] = {&out, &err};
    int open = (out_fd >= 0) + (err_fd >= 0); // a closed one (close_stdout) is not waited for
    while (open > 0 && std::chrono::steady_clock::now() < until) {
        if (::poll(fds, 2, 50) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[4096];
            ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
            if (n > 0) {
                sinks[i]->append(buf, n);
            } else {
                fds[i].fd = -1;
                --open;
            }
        }
    }
}

int reap(pid_t pid, int timeout_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        ::usleep(10'000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

std::string freezeprobe_binary() {
    const char *path = std::getenv("FREEZEPROBE_BINARY");
    return path && *path ? path : FREEZEPROBE_BINARY;
}

std::vector<nlohmann::json> json_lines(const std::string &text) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(nlohmann::json::parse(line));
    return lines;
}

ProcessResult run_process(const std::vector<std::string> &argv,
                          const std::function<void()> &before_exec) {
    Child child;
    ProcessResult r;
    try {
        child = spawn_in_group(argv, before_exec);
    } catch (const std::system_error &e) { // as a shell would: 127, and why
        r.exit_code = 127;
        r.err = e.what();
        return r;
    }
    drain(child.out_fd, child.err_fd, r.out, r.err, 60'000);
    ::close(child.out_fd);
    ::close(child.err_fd);
    r.exit_code = reap(child.pid, 10'000);
    return r;
}

RunningProcess::RunningProcess(const std::vector<std::string> &argv) {
    auto child = spawn_in_group(argv, {});
    pid_ = child.pid;
    out_fd_ = child.out_fd;
    err_fd_ = child.err_fd;
}

RunningProcess::~RunningProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0)
        ::close(out_fd_);
    if (err_fd_ >= 0)
        ::close(err_fd_);
}

namespace {

// Appends what fd has within 50 ms; false at EOF or on an error.
bool read_some(int fd, std::string &into) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
        return true;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
        return false;
    into.append(buf, n);
    return true;
}

} // namespace

bool RunningProcess::wait_for_stderr(const std::string &needle, int timeout_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (err_.find(needle) == std::string::npos)
        if (std::chrono::steady_clock::now() > until || !read_some(err_fd_, err_))
            return false;
    return true;
}

std::optional<std::string> RunningProcess::read_stdout_line(int timeout_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (auto nl = out_.find('\n'); nl != std::string::npos) {
            auto line = out_.substr(0, nl);
            out_.erase(0, nl + 1);
            return line;
        }
        if (out_fd_ < 0 || std::chrono::steady_clock::now() > until || !read_some(out_fd_, out_))
            return std::nullopt;
    }
}

void RunningProcess::collect_output() {
    for (auto [fd, into] : {std::pair{out_fd_, &out_}, std::pair{err_fd_, &err_}}) {
        pollfd p{fd, POLLIN, 0};
        char buf[4096];
        ssize_t n = 0;
        while (fd >= 0 && ::poll(&p, 1, 0) > 0 && (n = ::read(fd, buf, sizeof(buf))) > 0)
            into->append(buf, n);
    }
}

void RunningProcess::close_stdout() {
    if (out_fd_ >= 0)
        ::close(out_fd_);
    out_fd_ = -1;
}

ProcessResult RunningProcess::wait(int timeout_ms) {
    if (pid_ <= 0) // already collected: never kill(-1) or wait for another child
        throw std::logic_error("RunningProcess: the process was already collected");
    ProcessResult r;
    drain(out_fd_, err_fd_, out_, err_, timeout_ms);
    r.exit_code = reap(pid_, timeout_ms);
    pid_ = -1;
    r.out = out_;
    r.err = err_;
    return r;
}

ProcessResult RunningProcess::stop(int sig, int timeout_ms) {
    if (pid_ > 0)
        ::kill(pid_, sig);
    return wait(timeout_ms);
}

} // namespace freezeprobe::testing
