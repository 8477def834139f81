// What an integration test process made and must have released by its end (leftover_check.cpp):
// only what this process and its children made counts, so that two test runs at once (two build
// directories, the VM runner beside the host's suite) neither fail for nor remove the other's.
#pragma once

#include <set>
#include <string>
#include <sys/types.h>

namespace freezeprobe::testing {

// hangfs FUSE mounts (HangFuse) made by the process tree of owner (a test process and the
// children it starts, such as `freezeprobe demo`): HangFuse names its mount point
// freezeprobe-hangfs-<owner>-XXXXXX, where owner is $FREEZEPROBE_TEST_PID (which the check sets
// to the test process's PID, so that the children it starts inherit it), else its own PID.
std::set<std::string> own_hangfs_mounts(pid_t owner);
// Loop devices (/dev/loopN) whose backing file is in such a mount point, mounted or not.
std::set<std::string> own_loop_devices(pid_t owner);

} // namespace freezeprobe::testing
