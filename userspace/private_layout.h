// The demo's own cgroup layout. On a host that mounts only cgroup v2 at /sys/fs/cgroup (or only
// v1 hierarchies), the demo still shows both freezers and runc's v1 "unable to freeze": it moves
// itself into a private mount namespace where /sys/fs/cgroup is a hybrid layout built from the
// host's own hierarchies, plus a v1 freezer hierarchy when the kernel has that controller. runc,
// started from there, sees a tmpfs at /sys/fs/cgroup and takes its v1 path. Nothing the host
// sees is changed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {

// Whether /proc/cgroups text lists controller as enabled (the kernel has it, mounted or not).
bool proc_cgroups_enables(std::string_view proc_cgroups, std::string_view controller);
// The same for this kernel.
bool kernel_has_v1_controller(std::string_view controller);

// Enters a private mount namespace in which /sys/fs/cgroup is a tmpfs holding this host's v1
// hierarchies (one directory each, named as on the host), a v1 freezer (and devices, which
// runc's v1 path needs) mounted when missing and the kernel has it, and cgroup v2 at
// /sys/fs/cgroup/unified (the host's cgroup2 mount moved there, or a new one when the host has
// none). Must be called while the process has one thread. Returns one line per thing it did;
// throws std::system_error naming the step that failed.
std::vector<std::string> enter_private_hybrid_layout();

} // namespace freezeprobe
