// HangFuse: a read of its file is held until released, and while held it blocks a cgroup freeze
// (v1 FREEZING, v2 "frozen 0"); answering, failing, aborting or destroying the filesystem always
// releases the reader.
//
// Cleanup order matters in every test: the HangFuse is declared last, so on any exit the held
// reads are released first (killing a reader does not release it); then the cgroup is thawed, the
// child killed and reaped by its PID, and only then the (empty) cgroup removed.
#include "probe_harness.h"

#include "hang_fuse.h"
#include "text_util.h"

#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

// The state letter of /proc/PID/stat (after the comm, which may hold spaces or parentheses).
char task_state(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

std::string wchan(pid_t pid) {
    return read_file("/proc/" + std::to_string(pid) + "/wchan");
}

bool is_mounted(const std::string &mount_point) {
    std::istringstream mounts(read_file("/proc/mounts"));
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string source, target;
        fields >> source >> target;
        if (target == mount_point)
            return true;
    }
    return false;
}

// Our own children that are in D state (a reader left stuck would be one).
std::vector<pid_t> children_in_d_state() {
    std::vector<pid_t> stuck;
    DIR *proc = ::opendir("/proc");
    if (!proc)
        return stuck;
    while (auto *entry = ::readdir(proc)) {
        pid_t pid = std::atoi(entry->d_name);
        if (pid <= 0)
            continue;
        auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
        auto close = stat.rfind(')');
        if (close == std::string::npos)
            continue;
        char state = 0;
        int ppid = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == ::getpid() && state == 'D')
            stuck.push_back(pid);
    }
    ::closedir(proc);
    return stuck;
}

// The value of the "frozen" key in a v2 cgroup.events file, or -1.
int v2_frozen(const ScratchCgroup &cg) {
    std::istringstream events(read_file(cg.file("cgroup.events")));
    for (std::string key, value; events >> key >> value;)
        if (key == "frozen")
            return std::stoi(value);
    return -1;
}

std::string v1_state(const ScratchCgroup &cg) {
    // Reading freezer.state is what moves a FREEZING cgroup on to FROZEN once it can.
    return std::string(trim(read_file(cg.file("freezer.state"))));
}

// The test's prefix, which the leftover check knows.
std::string scratch_cgroup_name() {
    return unique_prefix();
}

class HangFuseTest : public ::testing::Test {
  protected:
    void TearDown() override {
        for (auto &mount_point : mount_points_) {
            EXPECT_FALSE(is_mounted(mount_point)) << mount_point << " is still mounted";
            struct stat st;
            EXPECT_NE(::stat(mount_point.c_str(), &st), 0) << mount_point << " was not removed";
        }
        EXPECT_TRUE(children_in_d_state().empty()) << "a child of the test is stuck in D state";
    }

    HangFuse &mount(std::optional<HangFuse> &fuse) {
        fuse.emplace();
        mount_points_.push_back(fuse->mount_point());
        return *fuse;
    }

    std::vector<std::string> mount_points_;
};

TEST_F(HangFuseTest, HeldReadIsAnsweredWithData) {
    REQUIRE_PRIVILEGES();
    HangReader reader;
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    EXPECT_TRUE(is_mounted(fuse.mount_point()));
    EXPECT_EQ(fuse.file_path(), fuse.mount_point() + "/hang");
    EXPECT_FALSE(fuse.wait_for_held_reads(1, 50ms));

    reader.start(fuse.file_path());
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);
    EXPECT_EQ(fuse.held_reads(), 1u);
    EXPECT_TRUE(eventually([&] { return wchan(reader.pid()) == "request_wait_answer"; }, 2s))
        << wchan(reader.pid());
    EXPECT_FALSE(reader.wait_exit(200ms)) << "the read returned while held";

    fuse.answer_reads();
    EXPECT_EQ(fuse.held_reads(), 0u);
    EXPECT_EQ(reader.wait_exit(5s), 16);
}

TEST_F(HangFuseTest, FailedReadReturnsTheError) {
    REQUIRE_PRIVILEGES();
    HangReader reader;
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    reader.start(fuse.file_path());
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);
    fuse.fail_reads(EIO);
    EXPECT_EQ(reader.wait_exit(5s), HangReader::read_failed + EIO);
}

TEST_F(HangFuseTest, HeldReadBlocksV2Freeze) {
    REQUIRE_PRIVILEGES();
    auto hierarchies = discover_hierarchies();
    const Hierarchy *v2 = find_v2(hierarchies);
    REQUIRE_V2(v2);
    // Torn down in reverse: reads released, cgroup thawed, child reaped, cgroup removed.
    ScratchCgroup cg(*v2, scratch_cgroup_name());
    HangReader reader;
    ThawGuard thaw(cg);
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);

    write_control_file_or_throw(cg.file("cgroup.freeze"), "1");
    auto until = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_EQ(v2_frozen(cg), 0) << "the freeze completed while the read was held";
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(task_state(reader.pid()), 'D');
    EXPECT_EQ(wchan(reader.pid()), "request_wait_answer");

    fuse.answer_reads();
    EXPECT_TRUE(eventually([&] { return v2_frozen(cg) == 1; }, 2s));
    write_control_file_or_throw(cg.file("cgroup.freeze"), "0");
    EXPECT_EQ(reader.wait_exit(5s), 16);
}

TEST_F(HangFuseTest, HeldReadBlocksV1Freeze) {
    REQUIRE_PRIVILEGES();
    auto hierarchies = discover_hierarchies();
    const Hierarchy *v1 = find_v1_controller(hierarchies, "freezer");
    REQUIRE_V1_FREEZER(v1);
    // Torn down in reverse: reads released, cgroup thawed, child reaped, cgroup removed.
    ScratchCgroup cg(*v1, scratch_cgroup_name());
    HangReader reader;
    ThawGuard thaw(cg);
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);

    write_control_file_or_throw(cg.file("freezer.state"), "FROZEN");
    auto until = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_EQ(v1_state(cg), "FREEZING");
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(task_state(reader.pid()), 'D');
    EXPECT_EQ(wchan(reader.pid()), "request_wait_answer");

    fuse.answer_reads();
    EXPECT_TRUE(eventually([&] { return v1_state(cg) == "FROZEN"; }, 2s)) << v1_state(cg);
    write_control_file_or_throw(cg.file("freezer.state"), "THAWED");
    EXPECT_TRUE(eventually([&] { return v1_state(cg) == "THAWED"; }, 2s)) << v1_state(cg);
    EXPECT_EQ(reader.wait_exit(5s), 16);
}

TEST_F(HangFuseTest, DestructorReleasesReaderAndUnmounts) {
    REQUIRE_PRIVILEGES();
    HangReader reader;
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    std::string mount_point = fuse.mount_point();
    reader.start(fuse.file_path());
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);

    auto start = std::chrono::steady_clock::now();
    holder.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    auto code = reader.wait_exit(5s);
    ASSERT_TRUE(code) << "the reader was not released";
    EXPECT_TRUE(*code == HangReader::read_failed + EIO ||
                *code == HangReader::read_failed + ECONNABORTED)
        << *code;
    EXPECT_FALSE(is_mounted(mount_point));
}

TEST_F(HangFuseTest, AbortGivesEconnaborted) {
    REQUIRE_PRIVILEGES();
    HangReader reader;
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    reader.start(fuse.file_path());
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);
    fuse.abort_connection();
    EXPECT_EQ(reader.wait_exit(5s), HangReader::read_failed + ECONNABORTED);
    EXPECT_EQ(fuse.held_reads(), 0u);
    struct stat st;
    EXPECT_NE(::stat(fuse.file_path().c_str(), &st), 0); // the connection is gone: no hang
    EXPECT_EQ(errno, ENOTCONN);
}

// The reason cleanup must go through the daemon: once the request is with the daemon, SIGKILL
// leaves the reader waiting uninterruptibly for the answer.
TEST_F(HangFuseTest, KilledReaderWaitsForTheAnswer) {
    REQUIRE_PRIVILEGES();
    HangReader reader;
    std::optional<HangFuse> holder;
    auto &fuse = mount(holder);
    reader.start(fuse.file_path());
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "exit " << reader.wait_exit(0ms).value_or(-1);
    ASSERT_EQ(::kill(reader.pid(), SIGKILL), 0);
    EXPECT_FALSE(reader.wait_exit(500ms)) << "SIGKILL released the reader";
    EXPECT_EQ(task_state(reader.pid()), 'D');
    fuse.answer_reads();
    EXPECT_EQ(reader.wait_exit(5s), HangReader::killed_base + SIGKILL);
}

} // namespace
} // namespace freezeprobe::testing
