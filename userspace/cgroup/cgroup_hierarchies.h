// Which cgroup hierarchies this host has mounted and where: parsed from /proc/self/mountinfo and
// /proc/self/cgroup. BPF names a hierarchy by the superblock's device (writes) or by its
// hierarchy id (tracepoints); this table maps both to a mount point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {

struct Hierarchy {
    int version = 0;       // 1 or 2
    int hierarchy_id = -1; // 0 for v2; -1 when /proc/self/cgroup did not name it
    std::uint32_t dev = 0; // kernel dev_t encoding (major << 20 | minor)
    std::string mount_point;
    std::string options;     // v1 super options, e.g. "rw,freezer" or "rw,xattr,name=systemd"
    std::string controllers; // v1, from /proc/self/cgroup: "freezer", "cpu,cpuacct", "name=systemd"

    bool operator==(const Hierarchy &) const = default;
};

// Kernel-internal dev_t, as BPF reads it from super_block.s_dev.
constexpr std::uint32_t kernel_dev(std::uint32_t major, std::uint32_t minor) {
    return (major << 20) | minor;
}

// Parses mountinfo text: one Hierarchy per cgroup superblock, preferring a mount of its root.
std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo);
// Fills hierarchy_id from /proc/PID/cgroup text ("ID:controllers:path" lines).
void assign_hierarchy_ids(std::vector<Hierarchy> &hierarchies, std::string_view proc_cgroup);
// Reads both files of the current process.
std::vector<Hierarchy> discover_hierarchies();

const Hierarchy *find_by_dev(const std::vector<Hierarchy> &hierarchies, std::uint32_t dev);
const Hierarchy *find_by_id(const std::vector<Hierarchy> &hierarchies, int hierarchy_id);
// The v1 hierarchy that carries controller (e.g. "freezer"), or the v2 one for version 2.
const Hierarchy *find_v1_controller(const std::vector<Hierarchy> &hierarchies,
                                    std::string_view controller);
const Hierarchy *find_v2(const std::vector<Hierarchy> &hierarchies);

} // namespace freezeprobe
