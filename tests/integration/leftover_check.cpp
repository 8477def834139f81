// Every integration test process checks, as it ends, that it left nothing behind: no cgroup
// named with its prefix (unique_prefix(), which carries its PID) in any hierarchy, no hangfs FUSE
// mount and no loop device on a hangfs file made by it or a child it started (their names carry
// its PID: hang_fuse_dir_prefix()) that was not there when it started. ctest runs each test in a
// process of its own, so a leftover fails the test that made it; the check then removes what it
// found, so that one leak does not spread. What another process tree made (a second test run
// beside this one) is neither counted nor touched.
#include "leftover_check.h"

#include "probe_harness.h"

#include "cgroup_hierarchies.h"
#include "hang_fuse.h"
#include "loop_device.h"
#include "scratch.h"
#include "text_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <unistd.h>

namespace freezeprobe::testing {

namespace fs = std::filesystem;

namespace {

// Whether path is, or is inside, a HangFuse mount point directory of owner's process tree.
bool in_own_hangfs_dir(const fs::path &path, pid_t owner) {
    auto prefix = hang_fuse_dir_prefix(owner);
    for (auto &part : path)
        if (part.native().starts_with(prefix))
            return true;
    return false;
}

} // namespace

std::set<std::string> own_hangfs_mounts(pid_t owner) {
    std::set<std::string> mounts;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 12, "fuse.hangfs ") != 0)
            continue;
        std::istringstream fields(line);
        std::string id, parent, dev, root, mount_point;
        fields >> id >> parent >> dev >> root >> mount_point;
        if (in_own_hangfs_dir(mount_point, owner))
            mounts.insert(mount_point);
    }
    return mounts;
}

std::set<std::string> own_loop_devices(pid_t owner) {
    std::set<std::string> loops;
    std::error_code ec;
    for (auto &entry : fs::directory_iterator("/sys/block", ec)) {
        auto name = entry.path().filename().native();
        if (!name.starts_with("loop"))
            continue;
        // Absent while the device is not bound to a file.
        auto backing = std::string(trim(read_file((entry.path() / "loop/backing_file").native())));
        if (!backing.empty() && in_own_hangfs_dir(backing, owner))
            loops.insert("/dev/" + name);
    }
    return loops;
}

namespace {

// Thaws, empties and removes a cgroup tree, innermost first.
void remove_cgroup_tree(const Hierarchy &h, const fs::path &top) {
    std::vector<fs::path> dirs{top};
    std::error_code ec;
    for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec))
            dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](auto &a, auto &b) { return a.native() > b.native(); });
    for (auto &dir : dirs) {
        if (h.version == 2 || h.controllers.find("freezer") != std::string::npos)
            write_control_file(dir / freeze_file_name(h.version), freeze_value(h.version, false));
        std::istringstream pids(read_file(dir / "cgroup.procs"));
        for (std::string pid; pids >> pid;)
            write_control_file(h.mount_point + "/cgroup.procs", pid);
        ::rmdir(dir.c_str());
    }
}

class LeftoverCheck : public ::testing::Environment {
  public:
    void SetUp() override {
        // The processes this one starts name their HangFuse mounts after it.
        ::setenv(kTestPidVariable, std::to_string(::getpid()).c_str(), 1);
        mounts_at_start_ = own_hangfs_mounts(::getpid());
        loops_at_start_ = own_loop_devices(::getpid());
    }

    void TearDown() override {
        std::vector<std::string> left;
        // Loop devices first: one may be backed by a file of a mount below.
        for (auto &loop : own_loop_devices(::getpid())) {
            if (loops_at_start_.count(loop))
                continue;
            left.push_back("loop device " + loop);
            try {
                LoopDevice::detach(loop);
            } catch (const std::exception &e) {
                left.back() += fmt::format(" (not detached: {})", e.what());
            }
        }
        for (auto &mount_point : own_hangfs_mounts(::getpid())) {
            if (mounts_at_start_.count(mount_point))
                continue;
            left.push_back("FUSE mount " + mount_point);
            ::umount2(mount_point.c_str(), MNT_DETACH);
            ::rmdir(mount_point.c_str());
        }
        auto ours = fmt::format("freezeprobe-test-{}-", ::getpid());
        for (auto &h : discover_hierarchies()) {
            std::error_code ec;
            for (auto &entry : fs::directory_iterator(h.mount_point, ec)) {
                if (!entry.path().filename().native().starts_with(ours))
                    continue;
                left.push_back("cgroup " + entry.path().native());
                remove_cgroup_tree(h, entry.path());
            }
        }
        if (!left.empty())
            ADD_FAILURE() << "the test left behind (now removed): "
                          << fmt::format("{}", fmt::join(left, ", "));
    }

  private:
    std::set<std::string> mounts_at_start_;
    std::set<std::string> loops_at_start_;
};

[[maybe_unused]] auto *const leftover_check =
    ::testing::AddGlobalTestEnvironment(new LeftoverCheck);

} // namespace
} // namespace freezeprobe::testing
