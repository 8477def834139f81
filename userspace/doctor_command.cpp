// freezeprobe doctor: can this kernel run freezeprobe? Checks privileges, BTF, the cgroup layout
// and a real trial attach; exits 0 only if an attach mode works.
#include "commands.h"
#include "privileges.h"
#include "probe_session.h"

#include <fmt/format.h>
#include <sys/utsname.h>

namespace freezeprobe {

int run_doctor(const Options &options) {
    utsname uts{};
    ::uname(&uts);
    fmt::print("kernel:      {} {} {}\n", uts.sysname, uts.release, uts.machine);
    auto caps = missing_capabilities();
    fmt::print("privileges:  {}\n", caps ? "missing " + *caps : std::string("ok"));
    auto btf = missing_btf();
    fmt::print("BTF:         {}\n", btf ? *btf : std::string("ok (") + kernel_btf_path + ")");
    auto hierarchies = discover_hierarchies();
    for (auto &h : hierarchies)
        fmt::print("cgroup:      v{} hierarchy {} at {} ({})\n", h.version, h.hierarchy_id,
                   h.mount_point, h.options);
    if (!find_v1_controller(hierarchies, "freezer") && !find_v2(hierarchies))
        fmt::print(
            "cgroup:      neither a v1 freezer nor cgroup v2 is mounted: nothing to watch\n");
    if (caps || btf) {
        fmt::print("result:      cannot run\n");
        return exit_cannot_run;
    }
    try {
        ProbeSession session(session_options(options), [](const Event &) {});
        fmt::print("attach:      {} works (trial attach and detach)\n", to_string(session.mode()));
        fmt::print("filter:      {}\n", session.fast_filter_ready()
                                            ? "fast path on (kernfs file_operations learned)"
                                            : "slow path only (no cgroup file could be written)");
        fmt::print("blockers:    found with the {}\n", session.blocker_method());
    } catch (const ProbeError &e) {
        fmt::print("attach:      tracepoint refused: {}\n", e.what());
        fmt::print("result:      cannot run\n");
        return exit_cannot_run;
    }
    fmt::print("result:      ok\n");
    return exit_ok;
}

} // namespace freezeprobe
