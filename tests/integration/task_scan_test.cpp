// The task iterator's view of a freeze, task by task: each task carries whether its freezer asks
// for it to be frozen, read at the same moment as whether it is frozen. That is what lets a
// blocker scan count only while the cgroup is really freezing, even inside runc's v1 loop, which
// thaws the cgroup for 10 ms in every 12.
#include "probe_harness.h"

#include "blocker_scan.h"
#include "hang_fuse.h"
#include "task_scan.h"

#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

class TaskScanTest : public CgroupTest {};

// Whether the iterator listed tid: it lists only tasks whose freezer asks them to freeze.
bool listed(const TaskScanner &scanner, pid_t tid) {
    return scanner.snapshot().count(static_cast<std::uint32_t>(tid)) == 1;
}

// The state of tid in a snapshot; fails the test if the iterator did not list it.
TaskFreezeState state_of(const TaskScanner &scanner, pid_t tid) {
    auto all = scanner.snapshot();
    auto it = all.find(static_cast<std::uint32_t>(tid));
    if (it == all.end()) {
        ADD_FAILURE() << "the task iterator did not list " << tid;
        return {};
    }
    return it->second;
}

TEST_F(TaskScanTest, EachTaskCarriesItsFreezersRequest) {
    auto scanner = TaskScanner::load();
    BlockerScanner blockers;
    ASSERT_EQ(blockers.method(), "task iterator");
    for (const Hierarchy *h : freezable()) {
        bool v1 = h->version == 1;
        SCOPED_TRACE(v1 ? "v1" : "v2");
        auto freezing = [&](const TaskFreezeState &s) {
            return v1 ? s.v1_freezing : s.v2_freezing;
        };
        auto frozen = [&](const TaskFreezeState &s) { return v1 ? s.v1_frozen : s.v2_frozen; };
        ScratchCgroup cg(*h, prefix_ + "/scan-v" + std::to_string(h->version));
        SleeperProcess sleeper;
        HangReader reader;
        ThawGuard thaw_guard(cg);
        HangFuse fuse;
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(sleeper.pid()));
        reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
        ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s));
        auto state_file = cg.file(v1 ? "freezer.state" : "cgroup.freeze");

        // Nobody asks them to freeze: the kernel side leaves them out of the snapshot.
        EXPECT_FALSE(listed(*scanner, sleeper.pid()));
        EXPECT_FALSE(listed(*scanner, reader.pid()));
        auto before = blockers.scan(*h, cg.path(), false);
        EXPECT_TRUE(before.scanned);
        EXPECT_EQ(before.freezing, std::optional(false)) << "nothing asks for a freeze yet";
        EXPECT_TRUE(before.blockers.empty());

        write_control_file_or_throw(state_file, v1 ? "FROZEN" : "1");
        EXPECT_TRUE(eventually(
            [&] {
                return listed(*scanner, sleeper.pid()) && frozen(state_of(*scanner, sleeper.pid()));
            },
            5s));
        auto sleeper_state = state_of(*scanner, sleeper.pid());
        auto reader_state = state_of(*scanner, reader.pid());
        EXPECT_TRUE(freezing(sleeper_state));
        EXPECT_TRUE(freezing(reader_state));
        EXPECT_FALSE(frozen(reader_state)) << "the FUSE read holds it";
        EXPECT_FALSE(listed(*scanner, ::getpid())) << "outside the cgroup: left in the kernel";
        // Asked for some tids, the scanner lists those being frozen; where the kernel iterates
        // task by task (6.1 and later), nothing else.
        auto some = scanner->snapshot(
            {static_cast<std::uint32_t>(reader.pid()), static_cast<std::uint32_t>(::getpid())});
        EXPECT_EQ(some.count(static_cast<std::uint32_t>(reader.pid())), 1u);
        EXPECT_EQ(some.count(static_cast<std::uint32_t>(::getpid())), 0u);
        if (scanner->iterates_single_tasks())
            EXPECT_EQ(some.count(static_cast<std::uint32_t>(sleeper.pid())), 0u)
                << "frozen, but not asked for";
        EXPECT_FALSE(v1 ? reader_state.v2_freezing : reader_state.v1_freezing)
            << "the other hierarchy's freezer asks nothing";
        // Told the state file did not read freezing, the scan still vouches for itself. (The
        // freeze's fake signal wakes the reader for a moment: wait until it sleeps again.)
        BlockerScan during;
        EXPECT_TRUE(eventually(
            [&] {
                during = blockers.scan(*h, cg.path(), false);
                return during.blockers.size() == 1 &&
                       during.blockers[0].wchan == "request_wait_answer";
            },
            2s));
        EXPECT_EQ(during.freezing, std::optional(true));
        ASSERT_EQ(during.blockers.size(), 1u);
        EXPECT_EQ(during.blockers[0].pid, static_cast<std::uint32_t>(reader.pid()));
        EXPECT_EQ(during.blockers[0].wchan, "request_wait_answer");

        write_control_file_or_throw(state_file, v1 ? "THAWED" : "0");
        EXPECT_FALSE(listed(*scanner, reader.pid())) << "thawed: nobody asks it to freeze";
        EXPECT_FALSE(listed(*scanner, sleeper.pid()));
        auto after = blockers.scan(*h, cg.path(), true);
        EXPECT_EQ(after.freezing, std::optional(false))
            << "a thawed cgroup's tasks are not blockers, whatever the caller read";
        EXPECT_TRUE(after.blockers.empty());
        fuse.abort_connection();
    }
}

} // namespace
} // namespace freezeprobe::testing
