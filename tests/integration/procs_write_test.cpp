// cgroup.procs, tasks and cgroup.threads writes: the target pid, the file, and whether the
// cgroup had a freeze requested at the time.
#include "probe_harness.h"

#include <unistd.h>

namespace freezeprobe::testing {
namespace {

class ProcsWriteTest : public ProbeTest {};

// In each freezer hierarchy the layout mounts: v1's cgroup.procs and tasks, v2's cgroup.procs
// and cgroup.threads.
TEST_F(ProcsWriteTest, TargetPidAndFileAreReported) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        SleeperProcess a, b; // outlive the cgroup, which releases them first
        ScratchCgroup cg(*h, prefix_ + "/procs-v" + std::to_string(h->version));
        int second_err = 0;
        if (h->version == 1) {
            write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(a.pid()) + "\n");
            write_control_file_or_throw(cg.file("tasks"), std::to_string(b.pid()));
        } else {
            write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(a.pid()));
            // A thread may move alone only within its domain: from the root this fails, and the
            // failure is what must be reported.
            second_err = write_control_file(cg.file("cgroup.threads"), std::to_string(b.pid()));
        }

        ASSERT_TRUE(wait_for_count(2));
        auto writes = of_type<ProcsWrite>(events_);
        ASSERT_EQ(writes.size(), 2u);
        EXPECT_EQ(writes[0].second.file, ControlFile::cgroup_procs);
        EXPECT_EQ(writes[0].second.target_pid, a.pid());
        EXPECT_EQ(writes[0].second.err, 0);
        EXPECT_EQ(writes[0].first.cgroup->version, h->version);
        EXPECT_EQ(writes[1].second.file,
                  h->version == 1 ? ControlFile::tasks : ControlFile::cgroup_threads);
        EXPECT_EQ(writes[1].second.target_pid, b.pid());
        EXPECT_EQ(writes[1].second.err, second_err);
        if (h->version == 2)
            EXPECT_NE(second_err, 0) << "a thread moved alone out of its domain";
        for (auto &[e, w] : writes) {
            EXPECT_GT(w.latency_ns, 0u);
            EXPECT_FALSE(w.during_freeze);
            EXPECT_EQ(w.writer.pid, static_cast<std::uint32_t>(::getpid()));
        }
        cg.remove();
    }
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
