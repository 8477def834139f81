// RuncContainer runs a real busybox container with the host's runc under a kubelet-style
// cgroupsPath: pause and resume reach the freezer (runc's v1 path where the layout mounts the v1
// freezer, its cgroup v2 path elsewhere), exec works, bind mounts are visible, and
// destruction removes every cgroup directory runc created (including the parents it leaves).
#include "probe_harness.h"
#include "runc_container.h"
#include "text_util.h"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The test's prefix (which the leftover check knows), the same for the whole test.
std::string top_component() {
    static const std::string top = unique_prefix().substr(1);
    return top;
}

RuncContainerSpec make_spec() {
    RuncContainerSpec spec;
    spec.id = random_hex(64);
    spec.cgroups_path =
        fmt::format("/{}/kubepods/burstable/pod{}/{}", top_component(), random_uuid(), spec.id);
    return spec;
}

// Every cgroup hierarchy directory that still holds the test's top-level cgroup.
std::vector<std::string> leftover_cgroups() {
    std::vector<std::string> left;
    for (auto &h : discover_hierarchies())
        if (fs::exists(fs::path(h.mount_point) / top_component()))
            left.push_back((fs::path(h.mount_point) / top_component()).string());
    return left;
}

// True while pid exists and is not a zombie.
bool alive(pid_t pid) {
    std::string stat = read_file(fmt::format("/proc/{}/stat", pid));
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

std::string state(const std::string &file) {
    return std::string(trim(read_file(file)));
}

TEST(RuncContainerTest, PauseResumeExecAndCleanup) {
    REQUIRE_PRIVILEGES();
    REQUIRE_RUNC();
    std::cout << "[ info     ] " << runc_version() << "\n";
    auto hierarchies = discover_hierarchies();
    auto freezers = freezable(hierarchies);
    ASSERT_FALSE(freezers.empty()) << "neither a v1 freezer nor a cgroup v2 hierarchy is mounted";
    // runc's cgroup v1 path where the v1 freezer is mounted (as on a hybrid node), else its
    // cgroup v2 path.
    const Hierarchy &h = *freezers.front();
    bool v1 = h.version == 1;
    const Hierarchy *v2 = find_v2(hierarchies);
    auto spec = make_spec();
    spec.cgroup2 = !v1;
    std::string cgroup = h.mount_point + spec.cgroups_path;
    auto freeze_state = cgroup + "/" + freeze_file_name(h.version);
    std::string unified = v1 && v2 ? v2->mount_point + spec.cgroups_path : std::string();
    std::cout << "[ info     ] runc's cgroup v" << h.version << " path\n";

    std::optional<RuncContainer> c;
    auto t0 = Clock::now();
    c.emplace(spec);
    double create_ms = ms_since(t0);
    std::string work_dir = c->work_dir();

    pid_t pid = c->init_pid();
    ASSERT_GT(pid, 0);
    std::string proc_cgroup = read_file(fmt::format("/proc/{}/cgroup", pid));
    EXPECT_NE(proc_cgroup.find((v1 ? ":freezer:" : "0::") + spec.cgroups_path + "\n"),
              std::string::npos)
        << proc_cgroup;
    EXPECT_EQ(state(freeze_state), freeze_value(h.version, false));

    t0 = Clock::now();
    auto paused = c->pause();
    double pause_ms = ms_since(t0);
    EXPECT_EQ(paused.exit_code, 0) << paused.err;
    EXPECT_EQ(state(freeze_state), freeze_value(h.version, true));
    if (v1)
        EXPECT_EQ(state(cgroup + "/freezer.self_freezing"), "1");
    else
        EXPECT_NE(read_file(cgroup + "/cgroup.events").find("frozen 1"), std::string::npos);
    if (!unified.empty() &&
        fs::exists(unified)) // runc's v1 manager does not freeze the hybrid unified hierarchy
        std::cout << "[ info     ] while paused, unified cgroup.freeze="
                  << state(unified + "/cgroup.freeze") << "\n";

    auto refused = c->exec({"true"});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("paused"), std::string::npos) << refused.err;

    t0 = Clock::now();
    auto resumed = c->resume();
    double resume_ms = ms_since(t0);
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(state(freeze_state), freeze_value(h.version, false));

    t0 = Clock::now();
    auto ran = c->exec({"true"});
    double exec_ms = ms_since(t0);
    EXPECT_EQ(ran.exit_code, 0) << ran.err;

    t0 = Clock::now();
    c.reset();
    double delete_ms = ms_since(t0);
    EXPECT_EQ(leftover_cgroups(), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(work_dir)) << work_dir;
    EXPECT_FALSE(alive(pid)) << "container init " << pid << " survived";

    std::cout << fmt::format("[ timing   ] create {:.1f} ms, pause {:.1f} ms, resume {:.1f} ms, "
                             "exec {:.1f} ms, destroy (delete + cleanup) {:.1f} ms\n",
                             create_ms, pause_ms, resume_ms, exec_ms, delete_ms);
    ::testing::Test::RecordProperty("create_ms", static_cast<int>(create_ms));
    ::testing::Test::RecordProperty("pause_ms", static_cast<int>(pause_ms));
    ::testing::Test::RecordProperty("resume_ms", static_cast<int>(resume_ms));
    ::testing::Test::RecordProperty("delete_ms", static_cast<int>(delete_ms));
}

TEST(RuncContainerTest, BindMountIsReadableInside) {
    REQUIRE_PRIVILEGES();
    REQUIRE_RUNC();
    std::string host_dir = (fs::temp_directory_path() / "freezeprobe-bind-XXXXXX").string();
    ASSERT_NE(::mkdtemp(host_dir.data()), nullptr);
    std::ofstream(host_dir + "/hello.txt") << "hello from the host\n";
    {
        auto spec = make_spec();
        spec.mounts.push_back({host_dir, "/mnt/host", true});
        RuncContainer c(spec);
        auto cat = c.exec({"cat", "/mnt/host/hello.txt"});
        EXPECT_EQ(cat.exit_code, 0) << cat.err;
        EXPECT_EQ(cat.out, "hello from the host\n");
        auto write = c.exec({"sh", "-c", "echo x > /mnt/host/new.txt"});
        EXPECT_NE(write.exit_code, 0) << "read-only bind mount was writable";
    }
    EXPECT_FALSE(fs::exists(host_dir + "/new.txt"));
    EXPECT_TRUE(fs::exists(host_dir + "/hello.txt")); // cleanup did not reach through the mount
    EXPECT_EQ(leftover_cgroups(), std::vector<std::string>{});
    fs::remove_all(host_dir);
}

TEST(RuncContainerTest, FailedCreateThrowsAndCleansUp) {
    REQUIRE_PRIVILEGES();
    REQUIRE_RUNC();
    auto spec = make_spec();
    spec.args = {"/bin/no-such-binary"};
    try {
        RuncContainer c(spec);
        ADD_FAILURE() << "runc run of a missing binary succeeded";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("no-such-binary"), std::string::npos) << e.what();
    }
    EXPECT_EQ(leftover_cgroups(), std::vector<std::string>{});
}

} // namespace
} // namespace freezeprobe::testing
