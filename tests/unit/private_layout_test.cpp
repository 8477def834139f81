#include "private_layout.h"

#include <gtest/gtest.h>

namespace freezeprobe {
namespace {

// This machine's /proc/cgroups (6.18): every controller enabled, the freezer on hierarchy 6;
// net_cls and others on no v1 hierarchy (0) but still there to mount.
constexpr const char *hybrid = R"(#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
freezer	6	1	1
net_cls	0	1	1
pids	8	1	1
)";

TEST(ProcCgroups, EnabledControllersAreFoundMountedOrNot) {
    EXPECT_TRUE(proc_cgroups_enables(hybrid, "freezer"));
    EXPECT_TRUE(proc_cgroups_enables(hybrid, "net_cls"));
    EXPECT_FALSE(proc_cgroups_enables(hybrid, "devices")) << "not listed";
    EXPECT_FALSE(proc_cgroups_enables(hybrid, "free")) << "whole names only";
    EXPECT_FALSE(proc_cgroups_enables(hybrid, "#subsys_name"));
}

TEST(ProcCgroups, DisabledOrMissingFreezerIsNotOffered) {
    // cgroup_disable=freezer on the command line, or a kernel without CONFIG_CGROUP_FREEZER.
    EXPECT_FALSE(proc_cgroups_enables("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                      "freezer\t0\t1\t0\n",
                                      "freezer"));
    EXPECT_FALSE(proc_cgroups_enables("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                      "cpu\t0\t1\t1\n",
                                      "freezer"));
    EXPECT_FALSE(proc_cgroups_enables("", "freezer"));
}

} // namespace
} // namespace freezeprobe
