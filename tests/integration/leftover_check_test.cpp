// The leftover check (leftover_check.cpp) counts only what this test process and the processes
// it starts made: a HangFuse mounted by a child that inherited $FREEZEPROBE_TEST_PID (as
// `freezeprobe demo` run by a test does) is this process's, one mounted by a process of another
// test run is not, and neither is a loop device on that other run's file.
#include "leftover_check.h"
#include "loop_device.h"
#include "probe_harness.h"

#include "hang_fuse.h"

#include <cstdlib>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

// A forked child that mounts a HangFuse, either as a process of this test run (it inherits
// $FREEZEPROBE_TEST_PID) or as one of another run (without it: its own PID), and keeps it
// mounted until destroyed; then it unmounts it and exits, and is reaped.
class ChildHangFuse {
  public:
    explicit ChildHangFuse(bool other_run) {
        int up[2], down[2];
        if (::pipe2(up, O_CLOEXEC) != 0 || ::pipe2(down, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::system_error(errno, std::generic_category(), "fork");
        if (pid_ == 0) {
            ::close(up[0]);
            ::close(down[1]);
            if (other_run)
                ::unsetenv(kTestPidVariable);
            try {
                HangFuse fuse;
                fuse.answer_reads_at_once(true); // losetup may read the file
                auto line = fuse.mount_point() + "\n";
                if (::write(up[1], line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                    ::_exit(91);
                char c;
                while (::read(down[0], &c, 1) > 0) {
                }
            } catch (...) {
                ::_exit(90);
            }
            ::_exit(0);
        }
        ::close(up[1]);
        ::close(down[0]);
        release_ = down[1];
        char c;
        while (::read(up[0], &c, 1) == 1 && c != '\n')
            mount_point_ += c;
        ::close(up[0]);
    }
    ~ChildHangFuse() {
        ::close(release_);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    ChildHangFuse(const ChildHangFuse &) = delete;
    ChildHangFuse &operator=(const ChildHangFuse &) = delete;
    // Empty when the child could not mount.
    const std::string &mount_point() const { return mount_point_; }

  private:
    pid_t pid_ = -1;
    int release_ = -1;
    std::string mount_point_;
};

TEST(LeftoverCheckTest, CountsOnlyWhatThisProcessTreeMade) {
    REQUIRE_PRIVILEGES();
    ASSERT_EQ(std::getenv(kTestPidVariable), std::to_string(::getpid()))
        << "the check names this process as the owner of what its children mount";
    HangFuse own;
    own.answer_reads_at_once(true); // losetup may read the file
    ChildHangFuse child(false), other(true);
    ASSERT_FALSE(child.mount_point().empty());
    ASSERT_FALSE(other.mount_point().empty());
    auto mounts = own_hangfs_mounts(::getpid());
    EXPECT_TRUE(mounts.contains(own.mount_point())) << own.mount_point();
    EXPECT_TRUE(mounts.contains(child.mount_point())) << "a child's: " << child.mount_point();
    EXPECT_FALSE(mounts.contains(other.mount_point())) << "another run's: " << other.mount_point();

    // Loop devices on a file of each; detached before the FUSE mounts go (declared after them).
    LoopDevice own_loop(own.file_path()), other_loop(other.mount_point() + "/hang");
    auto loops = own_loop_devices(::getpid());
    EXPECT_TRUE(loops.contains(own_loop.path())) << own_loop.path();
    EXPECT_FALSE(loops.contains(other_loop.path())) << "another run's: " << other_loop.path();
}

} // namespace
} // namespace freezeprobe::testing
