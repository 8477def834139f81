#include "process.h"

#include "text_util.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace freezeprobe {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// In a forked child: writes "freezeprobe: cannot <what>: errno <err>" to stderr and exits with
// exit_child_setup_failed. Async-signal-safe.
[[noreturn]] void child_fail(const char *what, int err) {
    char buf[256];
    std::size_t n = 0;
    for (const char *part : {"freezeprobe: cannot ", what, ": errno "})
        for (; *part && n < sizeof buf - 16; ++part)
            buf[n++] = *part;
    char digits[12];
    std::size_t d = 0;
    for (unsigned v = static_cast<unsigned>(err); d == 0 || v > 0; v /= 10)
        digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0)
        buf[n++] = digits[--d];
    buf[n++] = '\n';
    (void)!::write(2, buf, n);
    ::_exit(exit_child_setup_failed);
}

void close_fds(std::initializer_list<int> fds) {
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
}

} // namespace

Child spawn_process(const std::vector<std::string> &argv, const SpawnOptions &options) {
    std::vector<char *> cargv;
    for (auto &a : argv)
        cargv.push_back(const_cast<char *>(a.c_str()));
    cargv.push_back(nullptr);
    const char *bind = options.bind_cgroup2.empty() ? nullptr : options.bind_cgroup2.c_str();
    int out[2] = {-1, -1}, err[2] = {-1, -1}, status_pipe[2] = {-1, -1};
    int devnull = -1;
    auto fail = [&](const char *what) {
        int e = errno;
        close_fds({out[0], out[1], err[0], err[1], status_pipe[0], status_pipe[1], devnull});
        throw std::system_error(e, std::generic_category(),
                                fmt::format("{} for {}", what, argv.empty() ? "" : argv[0]));
    };
    if (options.stdio != ChildStdio::inherit &&
        (devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        fail("open /dev/null");
    if (options.stdio == ChildStdio::pipe &&
        (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0))
        fail("pipe2");
    if (::pipe2(status_pipe, O_CLOEXEC) != 0)
        fail("pipe2");
    pid_t pid = ::fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) { // async-signal-safe calls only, but for the caller's in_child
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGINT, SIGTERM})
            ::signal(sig, SIG_DFL);
        if (options.stdio != ChildStdio::inherit) {
            ::dup2(devnull, 0);
            ::dup2(options.stdio == ChildStdio::pipe ? out[1] : devnull, 1);
            ::dup2(options.stdio == ChildStdio::pipe ? err[1] : devnull, 2);
        }
        // Nothing else leaks into the child (a FUSE fd would keep a connection alive), but the
        // status pipe, which exec closes.
        for (int fd = 3; fd < 1024; ++fd)
            if (fd != status_pipe[1])
                ::close(fd);
        if (bind) {
            if (::unshare(CLONE_NEWNS) != 0)
                child_fail("unshare(CLONE_NEWNS)", errno);
            // Nothing mounted here may propagate back to the parent's namespace.
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
                child_fail("make / rprivate in the new mount namespace", errno);
            if (::mount(bind, "/sys/fs/cgroup", nullptr, MS_BIND, nullptr) != 0)
                child_fail("bind the cgroup2 mount onto /sys/fs/cgroup", errno);
        }
        if (options.in_child)
            options.in_child();
        if (options.search_path)
            ::execvp(cargv[0], cargv.data());
        else
            ::execv(cargv[0], cargv.data());
        int e = errno;
        (void)!::write(status_pipe[1], &e, sizeof e);
        ::_exit(127);
    }
    close_fds({devnull, out[1], err[1], status_pipe[1]});
    int exec_errno = 0;
    ssize_t n;
    while ((n = ::read(status_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    ::close(status_pipe[0]);
    if (n == sizeof exec_errno) {
        ::waitpid(pid, nullptr, 0);
        close_fds({out[0], err[0]});
        throw std::system_error(exec_errno, std::generic_category(), "cannot run " + argv[0]);
    }
    return Child{pid, out[0], err[0]};
}

ProcessResult run_process(const std::vector<std::string> &argv, std::chrono::milliseconds timeout,
                          const SpawnOptions &options) {
    ProcessResult r;
    Child child;
    try {
        child = spawn_process(argv, options);
    } catch (const std::system_error &e) {
        r.err = e.what();
        return r;
    }
    pid_t pid = child.pid;
    // The pidfd wakes poll when the child exits; without one (old kernel) poll every 10 ms.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U));
    std::vector<pollfd> fds = {
        {pidfd, POLLIN, 0}, {child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}};
    std::string *bufs[] = {nullptr, &r.out, &r.err};
    auto deadline = Clock::now() + timeout;
    bool exited = false;
    int status = -1;
    for (;;) {
        if (!exited && (exited = ::waitpid(pid, &status, WNOHANG) == pid) && pidfd >= 0)
            fds[0].fd = -1;
        if (exited && fds[1].fd < 0 && fds[2].fd < 0)
            break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms && !exited) {
            ::kill(pid, SIGKILL);
            r.err += fmt::format("{}{} timed out after {} ms; killed pid {}",
                                 r.err.empty() ? "" : "\n", argv[0], timeout.count(), pid);
            for (auto until = Clock::now() + 2s; Clock::now() < until;) {
                if (::waitpid(pid, &status, WNOHANG) == pid)
                    break;
                std::this_thread::sleep_for(10ms);
            }
            status = -1;
            break;
        }
        if (left <= 0ms)
            break;
        auto wait = exited ? 0ms : pidfd >= 0 ? std::min(left, 1000ms) : std::min(left, 10ms);
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
        if (n < 0 && errno != EINTR)
            break;
        if (n == 0 && exited)
            break; // pipes drained; a grandchild may still hold them
        for (std::size_t i = 1; n > 0 && i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                bufs[i]->append(buf, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    close_fds({pidfd, fds[1].fd, fds[2].fd});
    if (status != -1 && WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    return r;
}

std::optional<std::string> find_program(const std::string &name) {
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto dir : split(dirs, ':')) {
        std::string path = std::string(dir) + "/" + name;
        std::error_code ec;
        if (dir.starts_with("/") && std::filesystem::is_regular_file(path, ec) &&
            ::access(path.c_str(), X_OK) == 0)
            return path;
    }
    return std::nullopt;
}

std::string program_version(const std::string &name) {
    auto path = find_program(name);
    if (!path)
        return "";
    auto r = run_process({*path, "--version"}, 10s);
    if (r.exit_code != 0)
        return "";
    auto first = std::string_view(r.out).substr(0, r.out.find('\n'));
    return std::string(trim(first));
}

bool process_exists(pid_t pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

} // namespace freezeprobe
