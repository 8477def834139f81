// Asks the running kernel which of the hooked functions it has: in its BTF (what fentry needs)
// and in kallsyms (what kprobes need), whether it has kprobes at all, and which of the BPF
// features the programs use it really supports (by loading a probe, never from its version).
#pragma once

#include "attach_plan.h"

#include <optional>
#include <string>
#include <vector>

namespace freezeprobe {

// The wanted functions found in the kernel's BTF (/sys/kernel/btf/vmlinux); throws on an
// unreadable BTF.
std::set<std::string> btf_functions(const std::vector<std::string> &wanted);

// The wanted functions' symbols in /proc/kallsyms (empty if unreadable).
std::map<std::string, std::vector<std::string>>
kallsyms_functions(const std::vector<std::string> &wanted);

// Empty when the kernel can attach kprobes (the kprobe PMU, or tracefs kprobe_events as libbpf's
// fallback); else the reason.
std::optional<std::string> kprobes_unavailable();

// What the kernel's BPF supports, probed once per process by loading tiny programs and maps
// (libbpf_probe_bpf_helper, libbpf_probe_bpf_map_type).
const BpfSupport &bpf_support();

} // namespace freezeprobe
