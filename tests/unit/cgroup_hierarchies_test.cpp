// Which cgroup hierarchies a host has, from /proc/self/mountinfo and /proc/self/cgroup text.
#include "cgroup_hierarchies.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace freezeprobe {

void PrintTo(const Hierarchy &h, std::ostream *os) {
    *os << "{v" << h.version << " id=" << h.hierarchy_id << " dev=" << h.dev << " mount='"
        << h.mount_point << "' options='" << h.options << "'}";
}

namespace {

// This machine: v1 controllers each on their own hierarchy, cgroup2 at .../unified (hybrid).
const char *const hybrid_mountinfo =
    R"(22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

const char *const hybrid_proc_cgroup = R"(9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/eb57563b70d6bd744631a2b9c221a82c
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
)";

// A systemd host on cgroup v2 only (Debian 12 default), with optional fields before " - ".
const char *const unified_mountinfo =
    R"(25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
)";

TEST(KernelDev, Encoding) {
    EXPECT_EQ(kernel_dev(0, 0), 0u);
    EXPECT_EQ(kernel_dev(0, 34), 34u);
    EXPECT_EQ(kernel_dev(1, 2), (1u << 20) | 2u);
    EXPECT_EQ(kernel_dev(8, 1), 0x800001u);
    EXPECT_EQ(kernel_dev(0, 0xfffff), 0xfffffu);
    static_assert(kernel_dev(254, 1) == 0xfe00001u);
}

TEST(ParseCgroupMounts, HybridHost) {
    auto hs = parse_cgroup_mounts(hybrid_mountinfo);
    ASSERT_EQ(hs.size(), 10u); // the tmpfs, sysfs and ext4 lines are not cgroups
    EXPECT_EQ(hs[0], (Hierarchy{1, -1, kernel_dev(0, 29), "/sys/fs/cgroup/cpu", "rw,cpu"}));
    EXPECT_EQ(hs[5], (Hierarchy{1, -1, kernel_dev(0, 34), "/sys/fs/cgroup/freezer", "rw,freezer"}));
    EXPECT_EQ(hs[8],
              (Hierarchy{1, -1, kernel_dev(0, 37), "/sys/fs/cgroup/systemd", "rw,name=systemd"}));
    EXPECT_EQ(hs[9], (Hierarchy{2, 0, kernel_dev(0, 38), "/sys/fs/cgroup/unified", "rw"}));
    for (const auto &h : hs)
        EXPECT_EQ(h.version == 1 ? -1 : 0, h.hierarchy_id) << h.mount_point;
}

TEST(ParseCgroupMounts, UnifiedHost) {
    auto hs = parse_cgroup_mounts(unified_mountinfo);
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0], (Hierarchy{2, 0, kernel_dev(0, 26), "/sys/fs/cgroup",
                                "rw,nsdelegate,memory_recursiveprot"}));
}

TEST(ParseCgroupMounts, RootMountPreferredOverEarlierBindMount) {
    // A container runtime bind-mounted a sub-cgroup before the hierarchy's own mount is listed.
    const char *text =
        R"(50 40 0:34 /docker/abc /var/lib/ctr/freezer rw,relatime - cgroup cgroup rw,freezer
51 40 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
52 40 0:34 /other /mnt/freezer rw,relatime - cgroup cgroup rw,freezer
)";
    auto hs = parse_cgroup_mounts(text);
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].mount_point, "/sys/fs/cgroup/freezer");
}

TEST(ParseCgroupMounts, FirstRootMountWins) {
    const char *text = R"(60 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
61 1 0:40 / /mnt/again rw - cgroup2 cgroup2 rw
)";
    auto hs = parse_cgroup_mounts(text);
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].mount_point, "/sys/fs/cgroup");
}

TEST(ParseCgroupMounts, OnlyABindMount) {
    const char *text = "50 40 0:34 /docker/abc /cg rw - cgroup cgroup rw,freezer\n";
    auto hs = parse_cgroup_mounts(text);
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].mount_point, "/cg");
}

TEST(ParseCgroupMounts, OctalEscapesInMountPoint) {
    const char *text =
        R"(70 1 0:41 / /mnt/my\040cgroups\011tab\134back rw - cgroup2 cgroup2 rw
71 1 0:42 / /mnt/end\040 rw - cgroup cgroup rw,pids
72 1 0:43 / /mnt/not\08octal rw - cgroup cgroup rw,blkio
)";
    auto hs = parse_cgroup_mounts(text);
    ASSERT_EQ(hs.size(), 3u);
    EXPECT_EQ(hs[0].mount_point, "/mnt/my cgroups\ttab\\back");
    EXPECT_EQ(hs[1].mount_point, "/mnt/end ");
    EXPECT_EQ(hs[2].mount_point, "/mnt/not\\08octal");
}

TEST(ParseCgroupMounts, MalformedLinesIgnored) {
    const char *text = R"(garbage
1 2 3
31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime cgroup cgroup rw,cpu
33 31 x:y / /sys/fs/cgroup/bad rw - cgroup cgroup rw,cpu
34 31 0 / /sys/fs/cgroup/bad rw - cgroup cgroup rw,cpu
35 31 0:30: / /sys/fs/cgroup/bad rw - cgroup cgroup rw,cpu
- cgroup cgroup rw,cpu

36 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:32 / /sys/fs/cgroup/net rw - cgroupfs cgroup rw,net_cls
)";
    auto hs = parse_cgroup_mounts(text);
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].mount_point, "/sys/fs/cgroup/memory");
    EXPECT_TRUE(parse_cgroup_mounts("").empty());
}

TEST(ParseCgroupMounts, NoTrailingNewline) {
    auto hs = parse_cgroup_mounts("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw");
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].dev, kernel_dev(0, 38));
}

TEST(AssignHierarchyIds, HybridHost) {
    auto hs = parse_cgroup_mounts(hybrid_mountinfo);
    assign_hierarchy_ids(hs, hybrid_proc_cgroup);
    EXPECT_EQ(find_v1_controller(hs, "cpu")->hierarchy_id, 1);
    EXPECT_EQ(find_v1_controller(hs, "cpuacct")->hierarchy_id, 2);
    EXPECT_EQ(find_v1_controller(hs, "memory")->hierarchy_id, 4);
    EXPECT_EQ(find_v1_controller(hs, "freezer")->hierarchy_id, 6);
    EXPECT_EQ(find_v1_controller(hs, "name=systemd")->hierarchy_id, 9);
    EXPECT_EQ(find_v2(hs)->hierarchy_id, 0); // the "0::/" line changes nothing
    for (const auto &h : hs)
        EXPECT_NE(h.hierarchy_id, -1) << h.mount_point;
}

TEST(AssignHierarchyIds, CombinedControllers) {
    const char *mounts =
        R"(32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
34 31 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
35 31 0:32 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
36 31 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
)";
    const char *proc_cgroup = R"(12:freezer:/kubepods/pod1
4:net_cls,net_prio:/
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
0::/user.slice/user-1000.slice/session-2.scope
)";
    auto hs = parse_cgroup_mounts(mounts);
    assign_hierarchy_ids(hs, proc_cgroup);
    ASSERT_EQ(hs.size(), 5u);
    EXPECT_EQ(hs[0].hierarchy_id, 3);
    EXPECT_EQ(hs[1].hierarchy_id, 4);
    EXPECT_EQ(hs[2].hierarchy_id, 1);
    EXPECT_EQ(hs[3].hierarchy_id, 12);
    EXPECT_EQ(hs[4].hierarchy_id, 0);
}

TEST(AssignHierarchyIds, UnlistedAndMalformedLeaveMinusOne) {
    auto hs = parse_cgroup_mounts(hybrid_mountinfo);
    assign_hierarchy_ids(hs, "garbage\n6\n6:freezer\nx:pids:/\n:blkio:/\n7::/\n6:freezer:/\n");
    EXPECT_EQ(find_v1_controller(hs, "freezer")->hierarchy_id, 6);
    EXPECT_EQ(find_v1_controller(hs, "pids")->hierarchy_id, -1);
    EXPECT_EQ(find_v1_controller(hs, "blkio")->hierarchy_id, -1);
    EXPECT_EQ(find_v2(hs)->hierarchy_id, 0);
}

TEST(AssignHierarchyIds, PureV2HostUnchanged) {
    auto hs = parse_cgroup_mounts(unified_mountinfo);
    auto before = hs;
    assign_hierarchy_ids(hs, "0::/user.slice/user-1000.slice/session-3.scope\n");
    EXPECT_EQ(hs, before);
}

TEST(FindHierarchy, ByDevIdControllerAndV2) {
    auto hs = parse_cgroup_mounts(hybrid_mountinfo);
    assign_hierarchy_ids(hs, hybrid_proc_cgroup);

    ASSERT_NE(find_by_dev(hs, kernel_dev(0, 34)), nullptr);
    EXPECT_EQ(find_by_dev(hs, kernel_dev(0, 34))->mount_point, "/sys/fs/cgroup/freezer");
    EXPECT_EQ(find_by_dev(hs, kernel_dev(0, 38))->version, 2);
    EXPECT_EQ(find_by_dev(hs, kernel_dev(0, 28)), nullptr); // the tmpfs
    EXPECT_EQ(find_by_dev(hs, kernel_dev(1, 34)), nullptr);

    ASSERT_NE(find_by_id(hs, 6), nullptr);
    EXPECT_EQ(find_by_id(hs, 6)->mount_point, "/sys/fs/cgroup/freezer");
    ASSERT_NE(find_by_id(hs, 0), nullptr);
    EXPECT_EQ(find_by_id(hs, 0)->version, 2);
    EXPECT_EQ(find_by_id(hs, 42), nullptr);

    EXPECT_EQ(find_v1_controller(hs, "pids")->mount_point, "/sys/fs/cgroup/pids");
    EXPECT_EQ(find_v1_controller(hs, "hugetlb"), nullptr);
    EXPECT_EQ(find_v1_controller(hs, "freeze"), nullptr); // whole option names only

    ASSERT_NE(find_v2(hs), nullptr);
    EXPECT_EQ(find_v2(hs)->mount_point, "/sys/fs/cgroup/unified");
}

TEST(FindHierarchy, EmptyTable) {
    std::vector<Hierarchy> none;
    EXPECT_EQ(find_by_dev(none, 1), nullptr);
    EXPECT_EQ(find_by_id(none, 0), nullptr);
    EXPECT_EQ(find_v1_controller(none, "freezer"), nullptr);
    EXPECT_EQ(find_v2(none), nullptr);
}

TEST(FindHierarchy, V1OnlyHostHasNoV2) {
    auto hs = parse_cgroup_mounts("37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup "
                                  "rw,freezer\n");
    EXPECT_EQ(find_v2(hs), nullptr);
    // v2 tracepoints carry hierarchy id 0 even when cgroup2 is not mounted: no match.
    EXPECT_EQ(find_by_id(hs, 0), nullptr);
}

} // namespace
} // namespace freezeprobe
