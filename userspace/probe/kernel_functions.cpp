#include "kernel_functions.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace freezeprobe {

std::set<std::string> btf_functions(const std::vector<std::string> &wanted) {
    btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux)
        throw std::runtime_error(std::string("cannot read the kernel's BTF: ") +
                                 std::strerror(errno));
    std::set<std::string> found;
    for (const auto &name : wanted)
        if (btf__find_by_name_kind(vmlinux, name.c_str(), BTF_KIND_FUNC) > 0)
            found.insert(name);
    btf__free(vmlinux);
    return found;
}

std::map<std::string, std::vector<std::string>>
kallsyms_functions(const std::vector<std::string> &wanted) {
    std::ifstream in("/proc/kallsyms");
    return parse_kallsyms(in, wanted);
}

std::optional<std::string> kprobes_unavailable() {
    if (::access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0)
        return std::nullopt;
    for (const char *events :
         {"/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"})
        if (::access(events, W_OK) == 0)
            return std::nullopt;
    return "the kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no "
           "kprobe_events in a mounted tracefs";
}

const BpfSupport &bpf_support() {
    // Helpers are offered per program type; these two are in the set every tracing program type
    // shares (kprobe, tracepoint, raw and BTF tracepoints, fentry), so a tracepoint program, which
    // every kernel loads without attaching anything, answers for all of them.
    static const BpfSupport support = [] {
        auto helper = [](bpf_func_id id) {
            return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, id, nullptr) == 1;
        };
        BpfSupport s;
        s.ring_buffer = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
        s.current_task_btf = helper(BPF_FUNC_get_current_task_btf);
        s.task_pt_regs = helper(BPF_FUNC_task_pt_regs);
        return s;
    }();
    return support;
}

} // namespace freezeprobe
