// Which BPF programs each attach mode loads and where they attach, decided from what the running
// kernel offers (function names in its BTF and in kallsyms), never from its version number. Pure
// logic: the kernel facts come in as data, so every decision is unit-tested.
#pragma once

#include <istream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {

// Best first: fentry costs nothing on unrelated writes, kprobe little, tracepoint runs on every
// syscall but needs nothing beyond BTF.
enum class AttachMode { fentry, kprobe, tracepoint };

inline constexpr AttachMode all_attach_modes[] = {AttachMode::fentry, AttachMode::kprobe,
                                                  AttachMode::tracepoint};

std::string to_string(AttachMode mode);
// "fentry", "kprobe" or "tracepoint"; nullopt for anything else (including "auto").
std::optional<AttachMode> parse_attach_mode(std::string_view text);

// What the running kernel offers. kallsyms maps a function's name to the symbols found for it:
// the name itself and/or compiler clones such as "name.isra.0" or "name.constprop.0".
struct KernelFunctions {
    std::set<std::string> btf; // the hooked functions, and in tracepoint mode the marker below
    std::map<std::string, std::vector<std::string>> kallsyms;
};

// A function of the kernels that run syscall tracepoint programs with preemption on (7.x): there a
// task preempted inside on_sys_enter makes the kernel skip it for every other task of that CPU,
// and the tracepoint mode also attaches spare copies of its programs (bpf/syscall_hooks.bpf.h).
inline constexpr const char *preemptible_syscall_tracepoints_marker = "trace_call_bpf_faultable";
inline constexpr const char *sys_enter_spare_program = "on_sys_enter_spare";

// What the kernel's BPF supports, as far as the programs care (bpf/cgroup_file.bpf.h): the ring
// buffer is needed by every mode; each helper only chooses between two ways of reading the same
// thing, the helper's being the cheaper.
struct BpfSupport {
    bool ring_buffer = true;      // BPF_MAP_TYPE_RINGBUF, 5.8
    bool current_task_btf = true; // bpf_get_current_task_btf, 5.11
    bool task_pt_regs = true;     // bpf_task_pt_regs, 5.15
};

// What a mode needs from the kernel, and what of it (or of what it would use) this kernel lacks,
// one sentence each, for `doctor`. kprobes_missing: why kprobes cannot attach, if known.
struct ModeNeeds {
    std::vector<std::string> needs;
    std::vector<std::string> lacks;
};
ModeNeeds mode_needs(AttachMode mode, const BpfSupport &bpf,
                     const std::optional<std::string> &kprobes_missing);

// The kernel functions the fentry and kprobe modes hook.
std::vector<std::string> hooked_kernel_functions();

struct KprobeAttachment {
    std::string program;
    std::string symbol; // as in kallsyms
    bool retprobe = false;
};

struct AttachPlan {
    AttachMode mode = AttachMode::tracepoint;
    // Why the mode cannot work here, when that is known before trying it.
    std::optional<std::string> refused;
    // Programs to load: the mode's own and the cgroup tracepoints every mode uses.
    std::vector<std::string> programs;
    // kprobe mode: where each kprobe program goes (one program may serve several functions).
    std::vector<KprobeAttachment> kprobes;
    // What this mode will not see here, one sentence each (e.g. a missing optional function).
    std::vector<std::string> notes;
};

// The programs every mode loads (cgroup tracepoints).
std::vector<std::string> common_programs();
// Every program of the BPF object (to turn the others off).
std::vector<std::string> all_programs();

AttachPlan plan_attach(AttachMode mode, const KernelFunctions &kernel);

// Picks the kallsyms symbol to probe for a function: the function itself, or nullopt with the
// reason (missing, or only compiler clones whose arguments may differ from the source).
struct SymbolChoice {
    std::optional<std::string> symbol;
    std::string reason;
};
SymbolChoice choose_symbol(const std::string &function, const KernelFunctions &kernel);

// Reads /proc/kallsyms lines ("address type name [module]") and keeps the symbols whose name, up
// to the first '.', is one of the wanted functions. Streams: the file is several megabytes.
std::map<std::string, std::vector<std::string>>
parse_kallsyms(std::istream &in, const std::vector<std::string> &wanted);

} // namespace freezeprobe
