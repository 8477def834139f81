// The attach plan: which programs each mode loads and where, from the kernel's BTF and kallsyms.
#include "attach_plan.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>

namespace freezeprobe {
namespace {

KernelFunctions everything() {
    KernelFunctions k;
    for (const auto &f : hooked_kernel_functions()) {
        k.btf.insert(f);
        k.kallsyms[f] = {f};
    }
    return k;
}

bool has(const std::vector<std::string> &list, const std::string &name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

TEST(AttachPlan, ModeNamesRoundTrip) {
    for (auto mode : all_attach_modes)
        EXPECT_EQ(parse_attach_mode(to_string(mode)), mode);
    EXPECT_FALSE(parse_attach_mode("auto"));
    EXPECT_FALSE(parse_attach_mode("Fentry"));
    EXPECT_FALSE(parse_attach_mode(""));
}

TEST(AttachPlan, TracepointNeedsNothingFromTheKernelTables) {
    auto plan = plan_attach(AttachMode::tracepoint, KernelFunctions{});
    EXPECT_FALSE(plan.refused);
    EXPECT_TRUE(has(plan.programs, "on_sys_enter"));
    EXPECT_TRUE(has(plan.programs, "on_sys_exit"));
    EXPECT_TRUE(has(plan.programs, "on_cgroup_notify_frozen"));
    EXPECT_FALSE(has(plan.programs, "fentry_kernfs_write"));
    EXPECT_TRUE(plan.kprobes.empty());
}

// Where syscall tracepoints run their programs preemptibly, the spares are attached after the
// programs they stand in for (a tracepoint calls its programs in the order they were attached).
TEST(AttachPlan, TracepointAddsSparesAfterTheirProgramsWhereSyscallTracepointsArePreemptible) {
    EXPECT_FALSE(has(plan_attach(AttachMode::tracepoint, KernelFunctions{}).programs,
                     sys_enter_spare_program));
    KernelFunctions kernel;
    kernel.btf.insert(preemptible_syscall_tracepoints_marker);
    auto programs = plan_attach(AttachMode::tracepoint, kernel).programs;
    auto at = [&](const char *name) {
        return std::find(programs.begin(), programs.end(), name) - programs.begin();
    };
    ASSERT_TRUE(has(programs, "on_sys_enter_spare"));
    ASSERT_TRUE(has(programs, "on_sys_exit_spare"));
    EXPECT_LT(at("on_sys_enter"), at("on_sys_enter_spare"));
    EXPECT_LT(at("on_sys_exit"), at("on_sys_exit_spare"));
    // The marker means nothing to the other modes.
    EXPECT_FALSE(has(plan_attach(AttachMode::fentry, kernel).programs, sys_enter_spare_program));
}

TEST(AttachPlan, FentryLoadsOneProgramPerFunctionAndTheCommonOnes) {
    auto plan = plan_attach(AttachMode::fentry, everything());
    ASSERT_FALSE(plan.refused) << *plan.refused;
    for (auto name :
         {"fentry_kernfs_write", "fexit_kernfs_write", "fentry_cgroup_freeze_write",
          "fentry_freezer_write", "fentry_cgroup_procs_write", "fentry_cgroup_threads_write",
          "fentry_cgroup1_procs_write", "fentry_cgroup1_tasks_write", "fentry_cgroup_lock",
          "fexit_cgroup_lock", "fentry_freezer_read", "fexit_freezer_read",
          "fentry_cgroup_events_show", "fexit_cgroup_events_show", "on_cgroup_attach_task"})
        EXPECT_TRUE(has(plan.programs, name)) << name;
    EXPECT_FALSE(has(plan.programs, "on_sys_enter"));
    EXPECT_FALSE(has(plan.programs, "kprobe_kernfs_write"));
    EXPECT_TRUE(plan.notes.empty());
    // Every planned program exists in the object.
    for (const auto &p : plan.programs)
        EXPECT_TRUE(has(all_programs(), p)) << p;
}

TEST(AttachPlan, KprobeSharesOneHandlerProgramAcrossTheWriteHandlers) {
    auto plan = plan_attach(AttachMode::kprobe, everything());
    ASSERT_FALSE(plan.refused) << *plan.refused;
    std::vector<std::string> handler_targets;
    for (const auto &k : plan.kprobes)
        if (k.program == "kprobe_write_handler")
            handler_targets.push_back(k.symbol);
    std::sort(handler_targets.begin(), handler_targets.end());
    EXPECT_EQ(handler_targets,
              (std::vector<std::string>{"cgroup1_procs_write", "cgroup1_tasks_write",
                                        "cgroup_freeze_write", "cgroup_procs_write",
                                        "cgroup_threads_write", "freezer_write"}));
    auto returns =
        std::count_if(plan.kprobes.begin(), plan.kprobes.end(), [](auto &k) { return k.retprobe; });
    // kernfs_fop_write_iter, cgroup_kn_lock_live, freezer_read, cgroup_events_show
    EXPECT_EQ(returns, 4);
    for (const auto &k : plan.kprobes)
        EXPECT_TRUE(has(plan.programs, k.program)) << k.program;
}

TEST(AttachPlan, MissingRequiredFunctionRefusesTheModeWithItsName) {
    auto k = everything();
    k.btf.erase("kernfs_fop_write_iter");
    auto plan = plan_attach(AttachMode::fentry, k);
    ASSERT_TRUE(plan.refused);
    EXPECT_NE(plan.refused->find("kernfs_fop_write_iter is not in the kernel's BTF"),
              std::string::npos);

    k = everything();
    k.kallsyms.erase("cgroup_procs_write");
    plan = plan_attach(AttachMode::kprobe, k);
    ASSERT_TRUE(plan.refused);
    EXPECT_NE(plan.refused->find("cgroup_procs_write is not in kallsyms"), std::string::npos);
}

TEST(AttachPlan, MissingOptionalFunctionOnlyDropsItsPrograms) {
    auto k = everything();
    k.btf.erase("freezer_write");
    k.btf.erase("freezer_read");
    k.btf.erase("cgroup_kn_lock_live");
    auto plan = plan_attach(AttachMode::fentry, k);
    ASSERT_FALSE(plan.refused);
    EXPECT_FALSE(has(plan.programs, "fentry_freezer_write"));
    EXPECT_FALSE(has(plan.programs, "fexit_freezer_read"));
    EXPECT_FALSE(has(plan.programs, "fentry_cgroup_lock"));
    EXPECT_TRUE(has(plan.programs, "fentry_cgroup_procs_write"));
    ASSERT_EQ(plan.notes.size(), 3u);
    EXPECT_NE(plan.notes[0].find("freezer.state writes are not seen"), std::string::npos);
    EXPECT_NE(plan.notes[2].find("cgroup lock is not measured"), std::string::npos);
}

TEST(AttachPlan, CompilerClonesAreNamedAndNotProbed) {
    KernelFunctions k;
    k.kallsyms["cgroup_procs_write"] = {"cgroup_procs_write.isra.0"};
    auto choice = choose_symbol("cgroup_procs_write", k);
    EXPECT_FALSE(choice.symbol);
    EXPECT_NE(choice.reason.find("only compiler clones"), std::string::npos);
    EXPECT_NE(choice.reason.find("cgroup_procs_write.isra.0"), std::string::npos);

    k.kallsyms["cgroup_procs_write"] = {"cgroup_procs_write.cold", "cgroup_procs_write"};
    EXPECT_EQ(choose_symbol("cgroup_procs_write", k).symbol, "cgroup_procs_write");
    EXPECT_FALSE(choose_symbol("freezer_write", k).symbol);
}

TEST(AttachPlan, KallsymsParserKeepsTheWantedNamesAndTheirClones) {
    std::istringstream in("ffffffff81100000 T cgroup_procs_write\n"
                          "ffffffff81100100 t __cgroup1_procs_write.isra.0\n"
                          "ffffffff81100200 t freezer_write\t[freezer]\n"
                          "ffffffff81100300 t freezer_write.constprop.0\n"
                          "ffffffff81100400 t freezer_writer\n"
                          "ffffffff81100500 t freezer_write.llvm.123\n"
                          "ffffffff81100600 d cgroup_procs_write_start\n"
                          "garbage\n"
                          "\n");
    auto found = parse_kallsyms(in, {"cgroup_procs_write", "freezer_write", "__cgroup1_procs_write",
                                     "cgroup_kn_lock_live"});
    EXPECT_EQ(found["cgroup_procs_write"], std::vector<std::string>{"cgroup_procs_write"});
    EXPECT_EQ(found["freezer_write"],
              (std::vector<std::string>{"freezer_write", "freezer_write.constprop.0"}));
    EXPECT_EQ(found["__cgroup1_procs_write"],
              std::vector<std::string>{"__cgroup1_procs_write.isra.0"});
    EXPECT_FALSE(found.contains("cgroup_kn_lock_live"));
}

bool mentions(const std::vector<std::string> &lines, const std::string &text) {
    for (const auto &l : lines)
        if (l.find(text) != std::string::npos)
            return true;
    return false;
}

TEST(AttachPlan, ModeNeedsNameWhatThisKernelLacks) {
    BpfSupport all; // a 5.15+ kernel
    for (auto mode : all_attach_modes) {
        auto m = mode_needs(mode, all, std::nullopt);
        EXPECT_TRUE(mentions(m.needs, "ring buffer")) << to_string(mode);
        EXPECT_TRUE(m.lacks.empty()) << to_string(mode);
    }
    EXPECT_TRUE(mentions(mode_needs(AttachMode::fentry, all, std::nullopt).needs, "trampolines"));
    EXPECT_TRUE(mentions(mode_needs(AttachMode::kprobe, all, std::nullopt).needs, "kallsyms"));
    EXPECT_TRUE(mentions(mode_needs(AttachMode::tracepoint, all, std::nullopt).needs, "sys_enter"));

    BpfSupport v5_10{true, false, false}; // no bpf_get_current_task_btf, no bpf_task_pt_regs
    auto tp = mode_needs(AttachMode::tracepoint, v5_10, std::nullopt);
    ASSERT_EQ(tp.lacks.size(), 1u);
    EXPECT_NE(tp.lacks[0].find("bpf_get_current_task_btf (5.11)"), std::string::npos);
    auto fentry = mode_needs(AttachMode::fentry, v5_10, std::nullopt);
    ASSERT_EQ(fentry.lacks.size(), 1u);
    EXPECT_NE(fentry.lacks[0].find("bpf_task_pt_regs (5.15)"), std::string::npos);
    auto kprobe = mode_needs(AttachMode::kprobe, v5_10, std::string("no kprobe PMU"));
    EXPECT_EQ(kprobe.lacks.size(), 2u);
    EXPECT_TRUE(mentions(kprobe.lacks, "no kprobe PMU"));

    BpfSupport no_ring{false, true, true};
    EXPECT_TRUE(
        mentions(mode_needs(AttachMode::fentry, no_ring, std::nullopt).lacks, "no mode can load"));
}

} // namespace
} // namespace freezeprobe
