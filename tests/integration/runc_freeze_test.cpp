// Debian's runc, driven as kubelet's runtime would, under the probe: `runc pause`/`resume` make a
// frozen then thawed episode for that container, and with the container's process blocked in a
// FUSE read `runc pause` fails with "unable to freeze" while freezeprobe reports one aborted
// episode of runc's whole retry loop, naming the blocked task, its wchan and the container.
#include "probe_harness.h"

#include "hang_fuse.h"

#include <future>
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
    void expect_container(const Event &e) const {
        ASSERT_TRUE(e.cgroup);
        EXPECT_EQ(e.cgroup->version, 1);
        EXPECT_EQ(e.cgroup->path, v1_container_path(pod_, id_));
        ASSERT_TRUE(e.cgroup->container);
        EXPECT_EQ(e.cgroup->container->id, id_);
        EXPECT_EQ(e.cgroup->container->pod_uid, pod_);
        EXPECT_EQ(e.cgroup->container->qos, "burstable");
    }

    std::string id_, pod_;
};

TEST_F(RuncFreezeTest, PauseAndResumeAreFrozenThenThawed) {
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
    HangFuse fuse;
    auto s = spec({"/bin/cat", "/hang/hang"});
    s.mounts.push_back(RuncBindMount{fuse.mount_point(), "/hang", true});
    RuncContainer container(s);
    // Declared after the container: released first, so that the container can then be deleted.
    struct Release {
        HangFuse &fuse;
        ~Release() { fuse.abort_connection(); }
    } release{fuse};
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 10s));
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

} // namespace
} // namespace freezeprobe::testing
