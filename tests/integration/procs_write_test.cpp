// cgroup.procs, tasks and cgroup.threads writes: the target pid, the file, and whether the
// cgroup had a freeze requested at the time.
#include "probe_harness.h"

#include <unistd.h>

namespace freezeprobe::testing {
namespace {

class ProcsWriteTest : public ProbeTest {};

TEST_F(ProcsWriteTest, TargetPidAndFileAreReported) {
    REQUIRE_V1_FREEZER(v1_);
    REQUIRE_V2(v2_);
    SleeperProcess a, b; // outlive the cgroups, which release them first
    ScratchCgroup c1(v1(), prefix_ + "/procs");
    ScratchCgroup c2(v2(), prefix_ + "/procs");
    write_control_file_or_throw(c1.file("cgroup.procs"), std::to_string(a.pid()) + "\n");
    write_control_file_or_throw(c1.file("tasks"), std::to_string(b.pid()));
    write_control_file_or_throw(c2.file("cgroup.procs"), std::to_string(a.pid()));
    // A thread may move alone only within its domain: from the root this fails, and the failure
    // is what must be reported.
    int threads_err = write_control_file(c2.file("cgroup.threads"), std::to_string(b.pid()));

    ASSERT_TRUE(wait_for_count(4));
    auto writes = of_type<ProcsWrite>(events_);
    ASSERT_EQ(writes.size(), 4u);
    EXPECT_EQ(writes[0].second.file, ControlFile::cgroup_procs);
    EXPECT_EQ(writes[0].second.target_pid, a.pid());
    EXPECT_EQ(writes[0].second.err, 0);
    EXPECT_EQ(writes[0].first.cgroup->version, 1);
    EXPECT_EQ(writes[1].second.file, ControlFile::tasks);
    EXPECT_EQ(writes[1].second.target_pid, b.pid());
    EXPECT_EQ(writes[2].second.file, ControlFile::cgroup_procs);
    EXPECT_EQ(writes[2].first.cgroup->version, 2);
    EXPECT_EQ(writes[3].second.file, ControlFile::cgroup_threads);
    EXPECT_EQ(writes[3].second.err, threads_err);
    for (auto &[e, w] : writes) {
        EXPECT_GT(w.latency_ns, 0u);
        EXPECT_FALSE(w.during_freeze);
        EXPECT_EQ(w.writer.pid, static_cast<std::uint32_t>(::getpid()));
    }
    c2.remove();
    c1.remove();
}

TEST_F(ProcsWriteTest, JoinWhileFrozenIsFlagged) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        SleeperProcess first, joiner, late;
        ScratchCgroup cg(*h, prefix_ + "/join-v" + std::to_string(h->version));
        const char *freeze = h->version == 1 ? "freezer.state" : "cgroup.freeze";
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(first.pid()));
        write_control_file_or_throw(cg.file(freeze), h->version == 1 ? "FROZEN" : "1");
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(joiner.pid()));
        write_control_file_or_throw(cg.file(freeze), h->version == 1 ? "THAWED" : "0");
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(late.pid()));

        ASSERT_TRUE(wait_for([](auto &ev) { return of_type<ProcsWrite>(ev).size() >= 3; }));
        auto joins = of_type<ProcsWrite>(events_);
        EXPECT_FALSE(joins[0].second.during_freeze);
        EXPECT_TRUE(joins[1].second.during_freeze);
        EXPECT_EQ(joins[1].second.target_pid, joiner.pid());
        EXPECT_FALSE(joins[2].second.during_freeze);
        cg.remove();
    }
}

} // namespace
} // namespace freezeprobe::testing
