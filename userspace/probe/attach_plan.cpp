#include "attach_plan.h"

#include <algorithm>
#include <fmt/format.h>

namespace freezeprobe {
namespace {

// One hooked kernel function and the programs each mode puts on it.
struct Hook {
    const char *function;
    // Without it the mode cannot do its job; an optional hook only loses what it adds.
    bool required;
    const char *without; // what is lost without an optional hook
    std::vector<const char *> fentry_programs;
    const char *kprobe_program;
    const char *kretprobe_program;
};

const std::vector<Hook> &hooks() {
    static const std::vector<Hook> table = {
        {"kernfs_fop_write_iter",
         true,
         "",
         {"fentry_kernfs_write", "fexit_kernfs_write"},
         "kprobe_kernfs_write",
         "kretprobe_kernfs_write"},
        {"cgroup_freeze_write",
         true,
         "",
         {"fentry_cgroup_freeze_write"},
         "kprobe_write_handler",
         nullptr},
        {"cgroup_procs_write",
         true,
         "",
         {"fentry_cgroup_procs_write"},
         "kprobe_write_handler",
         nullptr},
        {"cgroup_threads_write",
         true,
         "",
         {"fentry_cgroup_threads_write"},
         "kprobe_write_handler",
         nullptr},
        {"cgroup_events_show",
         true,
         "",
         {"fentry_cgroup_events_show", "fexit_cgroup_events_show"},
         "kprobe_state_read",
         "kretprobe_state_read"},
        {"freezer_write",
         false,
         "no v1 freezer in this kernel: freezer.state writes are not seen",
         {"fentry_freezer_write"},
         "kprobe_write_handler",
         nullptr},
        {"freezer_read",
         false,
         "no v1 freezer in this kernel: freezer.state reads are not seen",
         {"fentry_freezer_read", "fexit_freezer_read"},
         "kprobe_state_read",
         "kretprobe_state_read"},
        {"cgroup1_procs_write",
         false,
         "no cgroup v1 in this kernel: v1 cgroup.procs writes are not seen",
         {"fentry_cgroup1_procs_write"},
         "kprobe_write_handler",
         nullptr},
        {"cgroup1_tasks_write",
         false,
         "no cgroup v1 in this kernel: v1 tasks writes are not seen",
         {"fentry_cgroup1_tasks_write"},
         "kprobe_write_handler",
         nullptr},
        {"cgroup_kn_lock_live",
         false,
         "the time a write waited for the cgroup lock is not measured",
         {"fentry_cgroup_lock", "fexit_cgroup_lock"},
         "kprobe_cgroup_lock",
         "kretprobe_cgroup_lock"},
    };
    return table;
}

const std::vector<std::string> tracepoint_programs = {"on_sys_enter", "on_sys_exit"};
// Attached after the ones they stand in for, so that they run after them.
const std::vector<std::string> tracepoint_spare_programs = {
    sys_enter_spare_program, "on_sys_enter_spare2", "on_sys_exit_spare", "on_sys_exit_spare2"};

void add_unique(std::vector<std::string> &list, const std::string &name) {
    if (std::find(list.begin(), list.end(), name) == list.end())
        list.push_back(name);
}

bool is_clone_suffix(std::string_view suffix) {
    for (std::string_view kind : {".isra.", ".constprop.", ".part.", ".cold"})
        if (suffix.starts_with(kind))
            return true;
    return false;
}

} // namespace

std::string to_string(AttachMode mode) {
    switch (mode) {
    case AttachMode::fentry:
        return "fentry";
    case AttachMode::kprobe:
        return "kprobe";
    case AttachMode::tracepoint:
        return "tracepoint";
    }
    return "unknown";
}

std::optional<AttachMode> parse_attach_mode(std::string_view text) {
    for (auto mode : all_attach_modes)
        if (text == to_string(mode))
            return mode;
    return std::nullopt;
}

std::vector<std::string> hooked_kernel_functions() {
    std::vector<std::string> names;
    for (const auto &hook : hooks())
        names.emplace_back(hook.function);
    return names;
}

std::vector<std::string> common_programs() {
    return {"on_cgroup_freeze",      "on_cgroup_unfreeze", "on_cgroup_notify_frozen",
            "on_cgroup_attach_task", "on_cgroup_mkdir",    "on_cgroup_rmdir",
            "on_cgroup_release",     "on_task_fork"};
}

std::vector<std::string> all_programs() {
    auto names = common_programs();
    for (const auto &p : tracepoint_programs)
        add_unique(names, p);
    for (const auto &p : tracepoint_spare_programs)
        add_unique(names, p);
    for (const auto &hook : hooks()) {
        for (const char *p : hook.fentry_programs)
            add_unique(names, p);
        add_unique(names, hook.kprobe_program);
        if (hook.kretprobe_program)
            add_unique(names, hook.kretprobe_program);
    }
    return names;
}

SymbolChoice choose_symbol(const std::string &function, const KernelFunctions &kernel) {
    auto it = kernel.kallsyms.find(function);
    if (it == kernel.kallsyms.end() || it->second.empty())
        return {std::nullopt, function + " is not in kallsyms"};
    if (std::find(it->second.begin(), it->second.end(), function) != it->second.end())
        return {function, ""};
    std::string clones;
    for (const auto &s : it->second)
        clones += (clones.empty() ? "" : ", ") + s;
    return {std::nullopt, fmt::format("only compiler clones of {} exist ({}); their arguments may "
                                      "differ from the source",
                                      function, clones)};
}

AttachPlan plan_attach(AttachMode mode, const KernelFunctions &kernel) {
    AttachPlan plan;
    plan.mode = mode;
    plan.programs = common_programs();
    if (mode == AttachMode::tracepoint) {
        plan.programs.insert(plan.programs.end(), tracepoint_programs.begin(),
                             tracepoint_programs.end());
        if (kernel.btf.contains(preemptible_syscall_tracepoints_marker))
            plan.programs.insert(plan.programs.end(), tracepoint_spare_programs.begin(),
                                 tracepoint_spare_programs.end());
        return plan;
    }
    for (const auto &hook : hooks()) {
        std::optional<std::string> missing;
        std::optional<std::string> symbol;
        if (mode == AttachMode::fentry) {
            if (!kernel.btf.contains(hook.function))
                missing = std::string(hook.function) + " is not in the kernel's BTF";
        } else {
            auto choice = choose_symbol(hook.function, kernel);
            symbol = choice.symbol;
            if (!symbol)
                missing = choice.reason;
        }
        if (missing) {
            if (hook.required) {
                plan.refused = *missing;
                return plan;
            }
            plan.notes.push_back(*missing + ": " + hook.without);
            continue;
        }
        if (mode == AttachMode::fentry) {
            for (const char *p : hook.fentry_programs)
                add_unique(plan.programs, p);
            continue;
        }
        add_unique(plan.programs, hook.kprobe_program);
        plan.kprobes.push_back({hook.kprobe_program, *symbol, false});
        if (hook.kretprobe_program) {
            add_unique(plan.programs, hook.kretprobe_program);
            plan.kprobes.push_back({hook.kretprobe_program, *symbol, true});
        }
    }
    return plan;
}

ModeNeeds mode_needs(AttachMode mode, const BpfSupport &bpf,
                     const std::optional<std::string> &kprobes_missing) {
    ModeNeeds m;
    m.needs.push_back("the kernel's BTF; the BPF ring buffer (5.8); BTF tracepoints on the cgroup "
                      "events (tp_btf)");
    if (!bpf.ring_buffer)
        m.lacks.push_back("the BPF ring buffer (BPF_MAP_TYPE_RINGBUF): no mode can load");
    switch (mode) {
    case AttachMode::fentry:
        m.needs.push_back("BPF trampolines (fentry/fexit) on the hooked kernfs and cgroup "
                          "functions, found in the kernel's BTF");
        break;
    case AttachMode::kprobe:
        m.needs.push_back("kprobes and kretprobes (the kprobe PMU or tracefs kprobe_events) on the "
                          "hooked functions, found in kallsyms");
        if (kprobes_missing)
            m.lacks.push_back(*kprobes_missing);
        break;
    case AttachMode::tracepoint:
        m.needs.push_back("BTF tracepoints on raw_syscalls sys_enter/sys_exit");
        if (!bpf.current_task_btf)
            m.lacks.push_back("bpf_get_current_task_btf (5.11): the fd table is read with CO-RE "
                              "reads from bpf_get_current_task() instead (a few more loads per "
                              "read or write syscall)");
        break;
    }
    if (mode != AttachMode::tracepoint && !bpf.task_pt_regs)
        m.lacks.push_back(
            "bpf_task_pt_regs (5.15): the bytes of a write refused before its handler "
            "runs come from the write's own iov_iter instead of its syscall registers");
    return m;
}

std::map<std::string, std::vector<std::string>>
parse_kallsyms(std::istream &in, const std::vector<std::string> &wanted) {
    std::map<std::string, std::vector<std::string>> found;
    std::string line;
    while (std::getline(in, line)) {
        // "ffffffff81234560 t name.isra.0\t[module]"
        auto first = line.find(' ');
        auto second = first == std::string::npos ? first : line.find(' ', first + 1);
        if (second == std::string::npos)
            continue;
        auto end = line.find_first_of(" \t", second + 1);
        std::string_view symbol(line.data() + second + 1,
                                (end == std::string::npos ? line.size() : end) - second - 1);
        auto dot = symbol.find('.');
        std::string_view base = symbol.substr(0, dot);
        if (dot != std::string_view::npos && !is_clone_suffix(symbol.substr(dot)))
            continue;
        for (const auto &name : wanted)
            if (base == name)
                found[name].emplace_back(symbol);
    }
    return found;
}

} // namespace freezeprobe
