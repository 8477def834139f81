// Starting the probe writes no cgroup file. A write to a cgroup control file takes cgroup_mutex
// before its handler reads the bytes, so on a node where a cgroup operation hangs holding it (the
// incidents freezeprobe is attached for) such a write would leave watch, doctor or demo in D
// state. fanotify watches every cgroup filesystem for a file opened for writing and closed (a
// zero-byte write included), and no such close may come from a starting freezeprobe. A control
// open of our own first shows that the watch sees what it must.
#include "probe_harness.h"
#include "subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

struct Closed {
    pid_t pid;
    std::string path;
};

// Closes of files opened for writing on every mounted cgroup filesystem, with the closer's pid.
class CgroupWriteWatch {
  public:
    explicit CgroupWriteWatch(const std::vector<Hierarchy> &hierarchies) {
        fd_ = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE);
        if (fd_ < 0)
            throw std::system_error(errno, std::generic_category(), "fanotify_init");
        for (auto &h : hierarchies)
            if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
                                FAN_CLOSE_WRITE | FAN_MODIFY, AT_FDCWD, h.mount_point.c_str()) != 0)
                throw std::system_error(errno, std::generic_category(),
                                        "fanotify_mark " + h.mount_point);
    }
    ~CgroupWriteWatch() { ::close(fd_); }

    // Reads what arrived; false if the queue overflowed (then nothing can be concluded).
    bool drain(std::vector<Closed> &out) {
        alignas(fanotify_event_metadata) char buf[8192];
        bool complete = true;
        for (ssize_t n; (n = ::read(fd_, buf, sizeof(buf))) > 0;) {
            auto *m = reinterpret_cast<fanotify_event_metadata *>(buf);
            for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
                if (m->mask & FAN_Q_OVERFLOW)
                    complete = false;
                if (m->fd < 0)
                    continue;
                char path[512] = {};
                auto link = fmt::format("/proc/self/fd/{}", m->fd);
                [[maybe_unused]] auto len = ::readlink(link.c_str(), path, sizeof(path) - 1);
                out.push_back({m->pid, path});
                ::close(m->fd);
            }
        }
        return complete;
    }

  private:
    int fd_ = -1;
};

std::vector<Closed> by(const std::vector<Closed> &all, pid_t pid) {
    std::vector<Closed> out;
    for (auto &c : all)
        if (c.pid == pid)
            out.push_back(c);
    return out;
}

std::string listed(const std::vector<Closed> &closes) {
    std::string s;
    for (auto &c : closes)
        s += fmt::format("\n  pid {} closed {} (opened for writing)", c.pid, c.path);
    return s;
}

TEST(StartWritesNothingTest, WatchAndDoctorWriteNoCgroupFile) {
    REQUIRE_PRIVILEGES();
    auto hierarchies = discover_hierarchies();
    ASSERT_FALSE(hierarchies.empty()) << "no cgroup hierarchy mounted";
    CgroupWriteWatch watch(hierarchies);
    std::vector<Closed> seen;

    // Control: what the loader used to do (open a root cgroup.procs for writing, a zero-byte
    // write) must be seen, or the watch proves nothing.
    auto target = hierarchies.front().mount_point + "/cgroup.procs";
    pid_t control = ::fork();
    ASSERT_GE(control, 0);
    if (control == 0) {
        int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            [[maybe_unused]] auto n = ::write(fd, "", 0);
            ::close(fd);
        }
        ::_exit(fd >= 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(control, &status, 0), control);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "could not open " << target;
    ASSERT_TRUE(eventually(
        [&] {
            watch.drain(seen);
            return !by(seen, control).empty();
        },
        std::chrono::seconds(5)))
        << "fanotify did not report the control open of " << target;

    std::vector<std::string> watch_argv{freezeprobe_binary(), "watch", "--duration", "1",
                                        "--events",           "none"};
    for (auto &arg : test_attach_args())
        watch_argv.push_back(arg);
    for (auto &argv : {watch_argv, std::vector<std::string>{freezeprobe_binary(), "doctor"}}) {
        SCOPED_TRACE(argv[1]);
        RunningProcess child(argv);
        pid_t pid = child.pid();
        auto result = child.wait(60'000);
        ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
        ASSERT_TRUE(watch.drain(seen)) << "the fanotify queue overflowed: cannot conclude";
        auto writes = by(seen, pid);
        EXPECT_TRUE(writes.empty()) << argv[1] << " wrote cgroup files:" << listed(writes);
        // The tracepoint filter still learns kernfs' file_operations, from a read.
        if (argv[1] == "doctor" && result.out.find("chosen:      tracepoint") != std::string::npos)
            EXPECT_NE(result.out.find("fast path on"), std::string::npos) << result.out;
    }
}

} // namespace
} // namespace freezeprobe::testing
