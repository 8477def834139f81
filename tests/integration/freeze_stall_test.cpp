// The heart of freezeprobe on the real kernel: a task blocked in a FUSE read holds a freeze up
// (v1 and v2); freezeprobe reports a stall naming that task, its wchan and its container, flags a
// process that joins meanwhile, and ends the episode frozen once the read is answered.
//
// Declaration order is cleanup order, reversed: the HangFuse (declared last) releases the read
// first, then the cgroup is thawed, then the processes are killed and reaped by their PIDs, and
// only then is the cgroup removed.
#include "probe_harness.h"

#include "blocker_cause.h"
#include "hang_fuse.h"

#include <filesystem>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

class FreezeStallTest : public ProbeTest {
  protected:
    void configure(SessionOptions &options) override {
        options.tracker.stall_after_ns = 300'000'000;
    }

    // Blocks a freeze of cg with a FUSE reader, checks the stall, joins a process during it,
    // releases the reader and checks the frozen episode.
    void stall_then_freeze(const Hierarchy &h, const std::string &path, const std::string &id,
                           const std::string &freeze, const std::string &thaw) {
        ScratchCgroup cg(h, path);
        SleeperProcess joiner;
        HangReader reader;
        ThawGuard thaw_guard(cg);
        HangFuse fuse;
        reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
        ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s));
        auto frozen_file = cg.file(h.version == 1 ? "freezer.state" : "cgroup.freeze");
        auto asked = std::chrono::steady_clock::now();
        write_control_file_or_throw(frozen_file, freeze);

        ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeStall>(ev).empty(); }, 5s));
        auto [stall_event, stall] = of_type<FreezeStall>(events_)[0];
        SCOPED_TRACE(stall.diagnosis);
        EXPECT_EQ(stall_event.cgroup->path, path);
        EXPECT_GE(stall.elapsed_ns, 300'000'000u);
        EXPECT_EQ(stall.writer.pid, static_cast<std::uint32_t>(::getpid()));
        EXPECT_EQ(stall.counts.writes, 1u);
        ASSERT_EQ(stall.blockers.size(), 1u) << "only the FUSE reader is unfrozen";
        auto &b = stall.blockers[0];
        EXPECT_EQ(b.pid, static_cast<std::uint32_t>(reader.pid()));
        EXPECT_EQ(b.tid, static_cast<std::uint32_t>(reader.pid()));
        EXPECT_EQ(b.state, "D");
        EXPECT_EQ(b.wchan, "request_wait_answer");
        ASSERT_FALSE(b.stack.empty());
        EXPECT_TRUE(b.stack[0].starts_with("request_wait_answer")) << b.stack[0];
        EXPECT_EQ(b.cgroup, path);
        ASSERT_TRUE(b.container);
        EXPECT_EQ(b.container->id, id);
        EXPECT_NE(stall.diagnosis.find("request_wait_answer"), std::string::npos);
        EXPECT_NE(stall.diagnosis.find("FUSE"), std::string::npos);
        // The cause: the connection of the mount, served by this process (HangFuse's thread).
        struct stat mount_stat {};
        ASSERT_EQ(::stat(fuse.mount_point().c_str(), &mount_stat), 0);
        auto connection = std::to_string(minor(mount_stat.st_dev));
        ASSERT_TRUE(b.cause);
        EXPECT_EQ(b.cause->kind, CauseKind::fuse);
        EXPECT_EQ(b.cause->device, "0:" + connection);
        ASSERT_TRUE(b.cause->holder) << b.cause->detail;
        EXPECT_EQ(b.cause->holder->pid, static_cast<std::uint32_t>(::getpid()));
        EXPECT_FALSE(b.cause->holder->container);
        EXPECT_EQ(b.cause->hint,
                  fuse_abort_hint(std::stoul(connection),
                                  !std::filesystem::is_empty("/sys/fs/fuse/connections")));
        if (!std::filesystem::is_empty("/sys/fs/fuse/connections")) // fusectl mounted
            EXPECT_TRUE(
                std::filesystem::exists("/sys/fs/fuse/connections/" + connection + "/abort"));
        EXPECT_NE(b.cause->detail.find(fuse.mount_point()), std::string::npos) << b.cause->detail;
        EXPECT_NE(stall.diagnosis.find("served by pid " + std::to_string(::getpid())),
                  std::string::npos);

        // A process joins while the freeze is pending (runc exec racing runc pause).
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(joiner.pid()));
        ASSERT_TRUE(wait_for([](auto &ev) { return of_type<ProcsWrite>(ev).size() >= 2; }));
        auto joins = of_type<ProcsWrite>(events_);
        EXPECT_EQ(joins[0].second.writer.pid, static_cast<std::uint32_t>(reader.pid()));
        EXPECT_FALSE(joins[0].second.during_freeze) << "the reader joined before the freeze";
        EXPECT_EQ(joins[1].second.target_pid, joiner.pid());
        EXPECT_TRUE(joins[1].second.during_freeze);

        std::this_thread::sleep_for(200ms);
        fuse.answer_reads();
        ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 5s));
        auto waited = std::chrono::steady_clock::now() - asked;
        auto episode = of_type<FreezeEpisode>(events_)[0].second;
        SCOPED_TRACE(episode.diagnosis);
        EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
        EXPECT_GE(episode.duration_ns, 500'000'000u) << "covers the wait for the reader";
        EXPECT_LE(episode.duration_ns, static_cast<std::uint64_t>(waited.count()));
        EXPECT_EQ(episode.counts.joins, 1u);
        ASSERT_EQ(episode.blockers.size(), 1u) << "the last blockers seen";
        EXPECT_EQ(episode.blockers[0].pid, static_cast<std::uint32_t>(reader.pid()));

        write_control_file_or_throw(frozen_file, thaw);
        ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 2; }));
        EXPECT_EQ(of_type<FreezeEpisode>(events_)[1].second.outcome, EpisodeOutcome::thawed);
        EXPECT_EQ(reader.wait_exit(5s), 16) << "the reader got its answer after the thaw";
    }
};

TEST_F(FreezeStallTest, V1FuseReaderHoldsTheFreezeUntilAnswered) {
    REQUIRE_V1_FREEZER(v1_);
    auto id = random_hex(64);
    stall_then_freeze(v1(), v1_container_path(random_uuid(), id), id, "FROZEN", "THAWED");
}

TEST_F(FreezeStallTest, V2FuseReaderHoldsTheFreezeUntilAnswered) {
    REQUIRE_V2(v2_);
    auto id = random_hex(64);
    stall_then_freeze(v2(), v2_container_path(random_uuid(), id), id, "1", "0");
}

TEST_F(FreezeStallTest, FrozenTasksAreNotBlockers) {
    // Two sleepers freeze at once, the FUSE reader does not: only the reader is a blocker, for
    // v1 (frozen tasks show state D there too) and v2.
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        ScratchCgroup cg(*h, prefix_ + "/mixed-v" + std::to_string(h->version));
        SleeperProcess a, b;
        HangReader reader;
        ThawGuard thaw_guard(cg);
        HangFuse fuse;
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(a.pid()));
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(b.pid()));
        reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
        ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s));
        write_control_file_or_throw(cg.file(h->version == 1 ? "freezer.state" : "cgroup.freeze"),
                                    h->version == 1 ? "FROZEN" : "1");
        ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeStall>(ev).empty(); }, 5s));
        auto stall = of_type<FreezeStall>(events_)[0].second;
        ASSERT_EQ(stall.blockers.size(), 1u) << stall.diagnosis;
        EXPECT_EQ(stall.blockers[0].pid, static_cast<std::uint32_t>(reader.pid()));
        fuse.abort_connection();
    }
}

} // namespace
} // namespace freezeprobe::testing
