// Debian's runc, driven as kubelet's runtime would, under the probe: `runc pause`/`resume` make a
// frozen then thawed episode for that container, and with the container's process blocked in a
// FUSE read `runc pause` fails with "unable to freeze" while freezeprobe reports one aborted
// episode of runc's whole retry loop, naming the blocked task, its wchan and the container.
// The same with runc in cgroup v2 mode (RuncContainerSpec::cgroup2: /sys/fs/cgroup is the cgroup2
// mount in runc's own mount namespace): runc writes cgroup.freeze once and waits 10 s for
// cgroup.events to say "frozen 1"; it does not thaw when it gives up, so the episode stays open,
// and ends frozen once the FUSE connection is aborted.
#include "probe_harness.h"

#include "hang_fuse.h"
#include "subprocess.h"
#include "text_util.h"

#include <fmt/format.h>
#include <csignal>
#include <future>
#include <thread>
#include <iostream>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

class RuncFreezeTest : public ProbeTest {
  protected:
    void SetUp() override {
        ProbeTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        REQUIRE_RUNC();
        id_ = random_hex(64);
        pod_ = random_uuid();
    }
    // kubelet's cgroupfs-driver cgroupsPath, under this test's scratch prefix.
    RuncContainerSpec spec(std::vector<std::string> args) const {
        RuncContainerSpec s;
        s.id = id_;
        s.cgroups_path = v1_container_path(pod_, id_);
        s.args = std::move(args);
        return s;
    }
    void expect_container(const Event &e, int version = 1) const {
        ASSERT_TRUE(e.cgroup);
        EXPECT_EQ(e.cgroup->version, version);
        EXPECT_EQ(e.cgroup->path, v1_container_path(pod_, id_));
        ASSERT_TRUE(e.cgroup->container);
        EXPECT_EQ(e.cgroup->container->id, id_);
        EXPECT_EQ(e.cgroup->container->pod_uid, pod_);
        EXPECT_EQ(e.cgroup->container->qos, "burstable");
    }

    // The same, with runc in cgroup v2 mode; the cgroupsPath is the same kubelet cgroupfs path.
    RuncContainerSpec spec_v2(std::vector<std::string> args) const {
        auto s = spec(std::move(args));
        s.cgroup2 = true;
        return s;
    }
    std::string v2_file(const std::string &name) const {
        return v2().mount_point + v1_container_path(pod_, id_) + "/" + name;
    }

    // A container whose init (cat) reads /hang/hang, a file of a held FUSE mount. The FUSE
    // connection is aborted before the container is deleted (the destructor's body runs before
    // the members go), so that the container can then be thawed and deleted.
    struct FuseHeldContainer {
        explicit FuseHeldContainer(RuncContainerSpec s) : container(with_hang(std::move(s))) {}
        ~FuseHeldContainer() { fuse.abort_connection(); }
        HangFuse fuse; // made first: the container mounts it
        RuncContainer container;

      private:
        RuncContainerSpec with_hang(RuncContainerSpec s) const {
            s.mounts.push_back(RuncBindMount{fuse.mount_point(), "/hang", true});
            return s;
        }
    };

    std::string id_, pod_;
};

TEST_F(RuncFreezeTest, PauseAndResumeAreFrozenThenThawed) {
    REQUIRE_V1_FREEZER(v1_);
    RuncContainer container(spec({"/bin/sleep", "3600"}));
    auto paused = container.pause();
    ASSERT_EQ(paused.exit_code, 0) << paused.err;
    auto resumed = container.resume();
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 2; }));
    auto episodes = of_type<FreezeEpisode>(events_);
    ASSERT_EQ(episodes.size(), 2u);
    EXPECT_EQ(episodes[0].second.outcome, EpisodeOutcome::frozen) << episodes[0].second.diagnosis;
    EXPECT_EQ(episodes[1].second.outcome, EpisodeOutcome::thawed) << episodes[1].second.diagnosis;
    for (auto &[e, episode] : episodes) {
        expect_container(e);
        EXPECT_EQ(episode.writer.comm, "runc");
        EXPECT_GE(episode.counts.writes, 1u);
        EXPECT_TRUE(episode.blockers.empty());
    }
    EXPECT_GE(episodes[0].second.counts.reads, 1u) << "runc reads freezer.state back";
    EXPECT_LT(episodes[0].second.duration_ns, 1'000'000'000u);
}

TEST_F(RuncFreezeTest, PauseFailsWhileAFuseReadBlocksAndTheBlockerIsNamed) {
    REQUIRE_V1_FREEZER(v1_);
    FuseHeldContainer held(spec({"/bin/cat", "/hang/hang"}));
    auto &container = held.container;
    ASSERT_TRUE(held.fuse.wait_for_held_reads(1, 10s));
    pid_t cat = container.init_pid();

    // runc pause in another thread, as it would run beside `freezeprobe watch`, while this one
    // keeps the probe polled.
    auto pausing = std::async(std::launch::async, [&] { return container.pause(); });
    wait_for([&](auto &) { return pausing.wait_for(0s) == std::future_status::ready; }, 60s);
    auto paused = pausing.get();
    EXPECT_NE(paused.exit_code, 0);
    EXPECT_NE(paused.err.find("unable to freeze"), std::string::npos) << paused.err;

    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 10s));
    auto [event, episode] = of_type<FreezeEpisode>(events_)[0];
    std::cout << "runc said: " << paused.err << "freezeprobe said: " << episode.diagnosis << "\n";
    expect_container(event);
    EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(episode.writer.comm, "runc");
    EXPECT_GE(episode.counts.writes, 1000u) << "runc's whole retry loop is one episode";
    EXPECT_GE(episode.counts.reads, 1000u);
    EXPECT_GE(episode.counts.thaws, 20u);
    ASSERT_FALSE(episode.blockers.empty()) << episode.diagnosis;
    auto &b = episode.blockers[0];
    EXPECT_EQ(b.pid, static_cast<std::uint32_t>(cat));
    EXPECT_EQ(b.comm, "cat");
    EXPECT_EQ(b.wchan, "request_wait_answer");
    ASSERT_TRUE(b.container);
    EXPECT_EQ(b.container->id, id_);
    EXPECT_NE(episode.diagnosis.find("request_wait_answer"), std::string::npos);
    EXPECT_EQ(of_type<FreezeEpisode>(events_).size(), 1u) << "one episode, not one per try";
}

TEST_F(RuncFreezeTest, CgroupV2PauseAndResumeAreFrozenThenThawed) {
    REQUIRE_V2(v2_);
    RuncContainer container(spec_v2({"/bin/sleep", "3600"}));
    pid_t init = container.init_pid();
    auto path = v1_container_path(pod_, id_);
    auto proc_cgroup = read_file(fmt::format("/proc/{}/cgroup", init));
    EXPECT_NE(proc_cgroup.find("\n0::" + path + "\n"), std::string::npos) << proc_cgroup;
    EXPECT_EQ(proc_cgroup.find(":freezer:" + path), std::string::npos)
        << "runc in v2 mode makes no v1 cgroup";
    EXPECT_EQ(trim(read_file(v2_file("cgroup.procs"))), std::to_string(init));

    auto paused = container.pause();
    ASSERT_EQ(paused.exit_code, 0) << paused.err;
    EXPECT_EQ(trim(read_file(v2_file("cgroup.freeze"))), "1");
    auto resumed = container.resume();
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(trim(read_file(v2_file("cgroup.freeze"))), "0");

    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 2; }));
    auto episodes = of_type<FreezeEpisode>(events_);
    ASSERT_EQ(episodes.size(), 2u);
    EXPECT_EQ(episodes[0].second.outcome, EpisodeOutcome::frozen) << episodes[0].second.diagnosis;
    EXPECT_EQ(episodes[1].second.outcome, EpisodeOutcome::thawed) << episodes[1].second.diagnosis;
    for (auto &[e, episode] : episodes) {
        expect_container(e, 2);
        EXPECT_EQ(episode.writer.comm, "runc");
        EXPECT_GE(episode.counts.writes, 1u);
        EXPECT_TRUE(episode.blockers.empty());
    }
    // runc reads cgroup.freeze back, then polls cgroup.events; the freeze may already be complete
    // (cgroup_notify_frozen) by then, so those reads are not necessarily part of the episode.
    EXPECT_EQ(episodes[0].second.counts.writes, 1u) << "runc v2 writes cgroup.freeze once";
    EXPECT_LT(episodes[0].second.duration_ns, 1'000'000'000u);
}

TEST_F(RuncFreezeTest, CgroupV2PauseTimesOutWhileAFuseReadBlocksAndTheFreezeStaysPending) {
    REQUIRE_V2(v2_);
    FuseHeldContainer held(spec_v2({"/bin/cat", "/hang/hang"}));
    auto &container = held.container;
    auto &fuse = held.fuse;
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 10s));
    pid_t cat = container.init_pid();

    auto asked = std::chrono::steady_clock::now();
    auto pausing = std::async(std::launch::async, [&] { return container.pause(); });
    wait_for([&](auto &) { return pausing.wait_for(0s) == std::future_status::ready; }, 60s);
    auto paused = pausing.get();
    auto waited = std::chrono::steady_clock::now() - asked;
    EXPECT_NE(paused.exit_code, 0);
    EXPECT_NE(paused.err.find("timeout of 10s reached waiting for the cgroup to freeze"),
              std::string::npos)
        << paused.err;
    EXPECT_GE(waited, 10s);

    // The stall, during runc's wait: one freeze request, runc polling cgroup.events, the cat.
    auto stalls = of_type<FreezeStall>(events_);
    ASSERT_EQ(stalls.size(), 1u);
    auto &[stall_event, stall] = stalls[0];
    std::cout << "runc said: " << paused.err << "freezeprobe said: " << stall.diagnosis << "\n";
    expect_container(stall_event, 2);
    EXPECT_EQ(stall.writer.comm, "runc");
    EXPECT_EQ(stall.counts.writes, 1u);
    EXPECT_GE(stall.counts.reads, 10u) << "runc polls cgroup.events every 10 ms";
    ASSERT_EQ(stall.blockers.size(), 1u) << stall.diagnosis;
    auto &b = stall.blockers[0];
    EXPECT_EQ(b.pid, static_cast<std::uint32_t>(cat));
    EXPECT_EQ(b.comm, "cat");
    EXPECT_EQ(b.state, "D");
    EXPECT_EQ(b.wchan, "request_wait_answer");
    EXPECT_EQ(b.cgroup, v1_container_path(pod_, id_));
    ASSERT_TRUE(b.container);
    EXPECT_EQ(b.container->id, id_);
    EXPECT_NE(stall.diagnosis.find("request_wait_answer"), std::string::npos);

    // runc gave up without thawing: the freeze is still pending, so there is no episode yet.
    EXPECT_EQ(trim(read_file(v2_file("cgroup.freeze"))), "1");
    EXPECT_NE(read_file(v2_file("cgroup.events")).find("frozen 0"), std::string::npos);
    collect_for(200ms);
    EXPECT_TRUE(of_type<FreezeEpisode>(events_).empty());

    // Aborting the connection ends the read; the cat freezes on its way back to user space (it
    // exits only once the cleanup thaws it) and the episode ends frozen, covering runc's wait.
    fuse.abort_connection();
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 5s));
    auto since_asked = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - asked);
    auto [event, episode] = of_type<FreezeEpisode>(events_)[0];
    std::cout << "freezeprobe said: " << episode.diagnosis << "\n";
    expect_container(event, 2);
    EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(episode.writer.comm, "runc");
    EXPECT_EQ(episode.counts.writes, 1u);
    EXPECT_EQ(episode.counts.thaws, 0u) << "runc v2 does not thaw when it gives up";
    EXPECT_GE(episode.counts.reads, 1000u) << "runc polls cgroup.events 1000 times";
    EXPECT_GE(episode.duration_ns, 10'000'000'000u) << "covers runc's wait";
    EXPECT_LE(episode.duration_ns, static_cast<std::uint64_t>(since_asked.count()));
    ASSERT_EQ(episode.blockers.size(), 1u) << "the last blockers seen";
    EXPECT_EQ(episode.blockers[0].pid, static_cast<std::uint32_t>(cat));
    EXPECT_NE(read_file(v2_file("cgroup.events")).find("frozen 1"), std::string::npos);
    EXPECT_EQ(trim(read_file(v2_file("cgroup.procs"))), std::to_string(cat));
    EXPECT_EQ(of_type<FreezeEpisode>(events_).size(), 1u);
}

// Freezes nobody thaws, reported once they have been in effect for --held-after (1 s here). runc
// uses the v1 freezer where the layout mounts one, else (a v2-only layout) cgroup v2.
class RuncHeldTest : public RuncFreezeTest {
  protected:
    void configure(SessionOptions &options) override {
        options.tracker.held_after_ns = 1'000'000'000;
    }
    int runc_version() const { return v1_ ? 1 : 2; }
    std::string runc_cgroup() const {
        return (v1_ ? v1() : v2()).mount_point + v1_container_path(pod_, id_);
    }
    // Whether runc's cgroup is freezing, not frozen: v1 freezer.state FREEZING; v2 cgroup.freeze
    // 1 and cgroup.events "frozen 0".
    bool freezing() const {
        if (v1_)
            return trim(read_file(runc_cgroup() + "/freezer.state")) == "FREEZING";
        return trim(read_file(runc_cgroup() + "/cgroup.freeze")) == "1" &&
               read_file(runc_cgroup() + "/cgroup.events").find("frozen 0") != std::string::npos;
    }
};

TEST_F(RuncHeldTest, PauseLeftPausedIsReportedHeld) {
    RuncContainer container(spec({"/bin/sleep", "3600"}));
    auto paused = container.pause();
    ASSERT_EQ(paused.exit_code, 0) << paused.err;
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeHeld>(ev).empty(); }, 5s));
    auto [event, held] = of_type<FreezeHeld>(events_)[0];
    std::cout << "freezeprobe said: " << held.diagnosis << "\n";
    expect_container(event, runc_version());
    EXPECT_TRUE(held.frozen);
    EXPECT_EQ(held.writer.comm, "runc");
    EXPECT_FALSE(held.writer_running) << "runc pause exits once the container is paused";
    EXPECT_GE(held.duration_ns, 1'000'000'000u);
    EXPECT_NE(held.diagnosis.find("the cgroup is frozen"), std::string::npos);
    EXPECT_NE(held.diagnosis.find("has exited"), std::string::npos);
    collect_for(1200ms);
    EXPECT_EQ(of_type<FreezeHeld>(events_).size(), 1u) << "reported once";
}

TEST_F(RuncHeldTest, RuncKilledInsideItsFreezeLoopLeavesTheFreezeHeld) {
    FuseHeldContainer fuse_held(spec({"/bin/cat", "/hang/hang"}));
    auto &container = fuse_held.container;
    ASSERT_TRUE(fuse_held.fuse.wait_for_held_reads(1, 10s));

    // v1: runc thaws for 10 ms every 50 tries; a SIGKILL then leaves the cgroup thawed, not held.
    // Kill it right after freezer.state reads FREEZING, and try again if it was thawed anyway.
    // v2: runc writes cgroup.freeze once and polls cgroup.events; killed then, it stays freezing.
    bool left_freezing = false;
    for (int attempt = 0; attempt < 10 && !left_freezing; ++attempt) {
        RunningProcess runc(
            {*find_runc(), "--root", container.work_dir() + "/state", "pause", id_});
        bool killed = false;
        wait_for(
            [&](auto &) {
                if (freezing()) {
                    ::kill(runc.pid(), SIGKILL);
                    killed = true;
                }
                return killed;
            },
            10s);
        runc.stop(SIGKILL);
        left_freezing = freezing();
        if (!left_freezing)
            collect_for(300ms); // the given-up episode ends (thaw grace)
    }
    ASSERT_TRUE(left_freezing);
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeHeld>(ev).empty(); }, 5s));
    auto [event, held] = of_type<FreezeHeld>(events_)[0];
    std::cout << "freezeprobe said: " << held.diagnosis << "\n";
    expect_container(event, runc_version());
    EXPECT_FALSE(held.frozen) << "still freezing: the FUSE read holds it";
    EXPECT_EQ(held.writer.comm, "runc");
    EXPECT_FALSE(held.writer_running) << "killed";
    EXPECT_NE(held.diagnosis.find("still freezing"), std::string::npos);
}

// runc exec while runc pause retries: the exec joins the freezing cgroup (runc pause thaws every
// 50 tries, and runc exec waits for a state other than FREEZING), and the episode counts the
// joins and names the runc exec process that wrote them.
TEST_F(RuncFreezeTest, ExecDuringAFailingPauseIsCountedAsAJoinByItsRunc) {
    REQUIRE_V1_FREEZER(v1_); // runc's v1 loop: on v2 runc waits 10 s without thawing
    FuseHeldContainer held(spec({"/bin/cat", "/hang/hang"}));
    auto &container = held.container;
    ASSERT_TRUE(held.fuse.wait_for_held_reads(1, 10s));

    auto pausing = std::async(std::launch::async, [&] { return container.pause(); });
    std::vector<std::future<RuncResult>> execs;
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(60ms);
        execs.push_back(std::async(std::launch::async, [&] {
            return container.exec({"/bin/true"}, false, std::chrono::seconds(30));
        }));
    }
    wait_for([&](auto &) { return pausing.wait_for(0s) == std::future_status::ready; }, 60s);
    for (auto &e : execs)
        wait_for([&](auto &) { return e.wait_for(0s) == std::future_status::ready; }, 60s);
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 10s));
    auto [event, episode] = of_type<FreezeEpisode>(events_)[0];
    std::cout << "freezeprobe said: " << episode.diagnosis << "\n";
    EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
    EXPECT_GE(episode.counts.joins, 1u);
    ASSERT_FALSE(episode.joiners.empty());
    EXPECT_EQ(episode.joiners[0].comm, "runc");
    EXPECT_NE(episode.joiners[0].pid, episode.writer.pid) << "runc exec, not runc pause";
    EXPECT_NE(episode.diagnosis.find("joined while it was freezing"), std::string::npos);
}

} // namespace
} // namespace freezeprobe::testing
