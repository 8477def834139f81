// Every integration test process checks, as it ends, that it left nothing behind: no cgroup
// named with its prefix (unique_prefix()) in any hierarchy, no hangfs FUSE mount that was not
// there when it started. ctest runs each test in a process of its own, so a leftover fails the
// test that made it; the check then removes what it found, so that one leak does not spread.
#include "probe_harness.h"

#include "cgroup_hierarchies.h"
#include "scratch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/mount.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;

// Mount points of hangfs FUSE file systems (HangFuse), from /proc/self/mountinfo.
std::set<std::string> hangfs_mounts() {
    std::set<std::string> mounts;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 12, "fuse.hangfs ") != 0)
            continue;
        std::istringstream fields(line);
        std::string id, parent, dev, root, mount_point;
        fields >> id >> parent >> dev >> root >> mount_point;
        mounts.insert(mount_point);
    }
    return mounts;
}

// Thaws, empties and removes a cgroup tree, innermost first.
void remove_cgroup_tree(const Hierarchy &h, const fs::path &top) {
    std::vector<fs::path> dirs{top};
    std::error_code ec;
    for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec))
            dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](auto &a, auto &b) { return a.native() > b.native(); });
    for (auto &dir : dirs) {
        if (h.version == 1 && h.controllers.find("freezer") != std::string::npos)
            write_control_file(dir / "freezer.state", "THAWED");
        if (h.version == 2)
            write_control_file(dir / "cgroup.freeze", "0");
        std::istringstream pids(read_file(dir / "cgroup.procs"));
        for (std::string pid; pids >> pid;)
            write_control_file(h.mount_point + "/cgroup.procs", pid);
        ::rmdir(dir.c_str());
    }
}

class LeftoverCheck : public ::testing::Environment {
  public:
    void SetUp() override { mounts_at_start_ = hangfs_mounts(); }

    void TearDown() override {
        std::vector<std::string> left;
        for (auto &mount_point : hangfs_mounts()) {
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
};

[[maybe_unused]] auto *const leftover_check =
    ::testing::AddGlobalTestEnvironment(new LeftoverCheck);

} // namespace
} // namespace freezeprobe::testing
