// The BPF objects (programs, maps, links) the kernel holds, read with bpftool, so that a test can
// prove that freezeprobe leaves none behind and can look into its maps from outside.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe::testing {

struct BpfObjects {
    std::set<std::uint32_t> progs, maps, links;
    bool empty() const { return progs.empty() && maps.empty() && links.empty(); }
    std::size_t size() const { return progs.size() + maps.size() + links.size(); }
};

// Every object the kernel has now. Throws std::runtime_error if bpftool fails.
BpfObjects bpf_objects();
// The objects a process holds a descriptor of (from /proc/PID/fdinfo).
BpfObjects bpf_objects_of(pid_t pid);
// Those of `ids` that still exist.
BpfObjects still_existing(const BpfObjects &ids);
// The id of the map named `name` that process pid holds (bpftool cuts names to 15 characters).
std::uint32_t bpf_map_id(pid_t pid, const std::string &name);
// The keys of a hash map whose keys are 32-bit integers.
std::vector<std::uint32_t> bpf_map_u32_keys(std::uint32_t map_id);
// "id 12 (freezeprobe_bpf...)" lines for a failure message.
std::string describe(const BpfObjects &objects);

} // namespace freezeprobe::testing
