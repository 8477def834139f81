// freezeprobe doctor: can this kernel run freezeprobe? Checks privileges, BTF, the cgroup layout,
// each attach mode (by a real trial attach, never by version numbers), the blocker scan, and the
// container runtimes installed; exits 0 only if an attach mode works.
#include "commands.h"
#include "kernel_functions.h"
#include "privileges.h"
#include "probe_session.h"
#include "process.h"

#include <fmt/format.h>
#include <sys/utsname.h>

namespace freezeprobe {
namespace {

void row(const char *what, const std::string &text) {
    fmt::print("{:<13}{}\n", what, text);
}

// Prints the cgroup hierarchies; false when none is mounted (nothing to watch).
bool cgroup_layout() {
    auto hierarchies = discover_hierarchies();
    if (hierarchies.empty()) {
        row("cgroups:", "no cgroup hierarchy is mounted (v1 or v2): there is nothing to watch");
        return false;
    }
    const Hierarchy *freezer = find_v1_controller(hierarchies, "freezer");
    const Hierarchy *v2 = find_v2(hierarchies);
    row("cgroup v1:", freezer ? "freezer hierarchy " + std::to_string(freezer->hierarchy_id) +
                                    " at " + freezer->mount_point
                              : std::string("no freezer hierarchy mounted"));
    row("cgroup v2:", v2 ? "mounted at " + v2->mount_point : std::string("not mounted"));
    std::string others;
    for (auto &h : hierarchies)
        if (h.version == 1 && &h != freezer)
            others += (others.empty() ? "" : ", ") +
                      (h.controllers.empty() ? h.mount_point : h.controllers);
    if (!others.empty())
        row("", "other v1 hierarchies (cgroup.procs writes seen there too): " + others);
    if (!freezer && !v2)
        row("", "neither a v1 freezer nor cgroup v2 is mounted: no freeze can be watched, only "
                "cgroup.procs writes in the hierarchies above");
    return true;
}

} // namespace

int run_doctor(const Options &options) {
    utsname uts{};
    ::uname(&uts);
    row("kernel:", fmt::format("{} {} {}", uts.sysname, uts.release, uts.machine));
    auto caps = missing_capabilities();
    row("privileges:", caps ? "missing " + *caps : std::string("ok"));
    auto btf = missing_btf();
    row("BTF:", btf ? *btf : std::string("ok (") + kernel_btf_path + ")");
    bool cgroups = cgroup_layout();
    for (auto *runtime : {"runc", "crun"}) {
        auto version = program_version(runtime);
        row(fmt::format("{}:", runtime).c_str(), version.empty() ? "not installed" : version);
    }
    if (caps || btf || !cgroups) {
        row("attach:", "not tried (see above)");
        row("result:", "cannot run");
        return exit_cannot_run;
    }
    const char *label = "attach:";
    for (auto mode : all_attach_modes) {
        ProbeOptions trial;
        trial.mode = mode;
        try {
            auto probe = BpfProbe::start(trial, [](std::span<const std::byte>) {});
            row(label, fmt::format("{}: works (trial attach and detach)", to_string(mode)));
            for (const auto &note : probe->mode_notes())
                row("", fmt::format("  {}", note));
        } catch (const ProbeError &e) {
            row(label, fmt::format("{}: refused: {}", to_string(mode), e.what()));
        }
        auto needs = mode_needs(mode, bpf_support(),
                                mode == AttachMode::kprobe ? kprobes_unavailable() : std::nullopt);
        for (const auto &n : needs.needs)
            row("", fmt::format("  needs: {}", n));
        for (const auto &l : needs.lacks)
            row("", fmt::format("  lacks: {}", l));
        label = "";
    }
    std::string chosen;
    try {
        ProbeSession session(session_options(options), [](const Event &) {});
        chosen = to_string(session.mode());
        row("chosen:", fmt::format("{} (--attach {})", chosen, options.attach));
        if (session.mode() == AttachMode::tracepoint)
            row("filter:", session.fast_filter_ready()
                               ? "fast path on (kernfs file_operations learned)"
                               : "slow path only (no cgroup file could be read)");
        row("blockers:", "found with the " + session.blocker_method());
        row("fuse daemons:", "found with the " + session.fuse_daemon_method());
    } catch (const ProbeError &e) {
        row("chosen:", fmt::format("none: {}", e.what()));
        row("result:", "cannot run");
        return exit_cannot_run;
    }
    row("result:", fmt::format("ok: freezeprobe can run here (mode {})", chosen));
    return exit_ok;
}

} // namespace freezeprobe
