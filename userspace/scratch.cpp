#include "scratch.h"

#include "text_util.h"

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {

std::string random_hex(std::size_t n) {
    std::string raw(n, '\0');
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::read(fd, raw.data(), raw.size()) == static_cast<ssize_t>(raw.size());
    if (fd >= 0)
        ::close(fd);
    if (!ok)
        throw std::runtime_error("reading /dev/urandom failed");
    std::string hex;
    for (unsigned char c : raw)
        hex.push_back("0123456789abcdef"[c & 15]);
    return hex;
}

std::string random_uuid() {
    auto h = random_hex(32);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

pid_t vanished_pid() {
    pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

int write_control_file(const std::string &path, std::string_view data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = ::write(fd, data.data(), data.size());
    int err = n < 0 ? errno : 0;
    ::close(fd);
    return err;
}

void write_control_file_or_throw(const std::string &path, std::string_view data) {
    if (int err = write_control_file(path, data))
        throw std::system_error(err, std::generic_category(),
                                "writing \"" + std::string(trim(data)) + "\" to " + path);
}

std::string read_control_file(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

ScratchCgroup::ScratchCgroup(const Hierarchy &hierarchy, std::string relative_path)
    : mount_point_(hierarchy.mount_point), relative_path_(std::move(relative_path)),
      version_(hierarchy.version) {
    std::string dir = mount_point_;
    for (auto part : split(relative_path_, '/')) {
        dir += "/" + std::string(part);
        if (::mkdir(dir.c_str(), 0755) == 0) {
            created_.push_back(dir);
        } else if (errno != EEXIST) {
            int err = errno;
            remove();
            throw std::system_error(err, std::generic_category(), "creating cgroup " + dir);
        }
    }
}

ScratchCgroup::~ScratchCgroup() {
    remove();
}

void ScratchCgroup::remove() {
    // Innermost first: thaw, hand any task we did not kill back to the root, then rmdir.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        // Thaw only what is frozen: a watching probe should not see needless writes.
        if (version_ == 1 && trim(read_control_file(*it + "/freezer.state")) != "THAWED")
            write_control_file(*it + "/freezer.state", "THAWED");
        else if (version_ == 2 && trim(read_control_file(*it + "/cgroup.freeze")) != "0")
            write_control_file(*it + "/cgroup.freeze", "0");
        std::istringstream pids(read_control_file(*it + "/cgroup.procs"));
        for (std::string pid; pids >> pid;)
            write_control_file(mount_point_ + "/cgroup.procs", pid);
        ::rmdir(it->c_str());
    }
    created_.clear();
}

ThawGuard::~ThawGuard() {
    if (cg_.version() == 1)
        write_control_file(cg_.file("freezer.state"), "THAWED");
    else
        write_control_file(cg_.file("cgroup.freeze"), "0");
}

SleeperProcess::SleeperProcess() : pid_(::fork()) {
    if (pid_ < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        for (;;)
            ::pause();
    }
}

SleeperProcess::~SleeperProcess() {
    ::kill(pid_, SIGKILL);
    // A task frozen by the v1 freezer dies only once thawed: wait a bounded time rather than
    // hang a test run, and say so if the child outlived it.
    for (int i = 0; i < 500; ++i) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR))
            return;
        ::usleep(10'000);
    }
    std::fprintf(stderr, "freezeprobe: child %d did not exit after SIGKILL (frozen?)\n", pid_);
}

} // namespace freezeprobe
