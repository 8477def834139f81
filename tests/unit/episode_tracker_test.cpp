// The freeze state machine fed with synthetic sequences, including runc's exact v1 loop
// (opencontainers/cgroups fs/freezer.go: up to 1000 FROZEN writes and reads, THAWED every 50th
// try, and a final THAWED on failure) and the v2 ordering quirks of the ring buffer.
#include "episode_tracker.h"

#include <gtest/gtest.h>

namespace freezeprobe {
namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t us = 1'000;
const CgroupKey key{42, 1000};
const Task runc{100, 101, "runc"};

CgroupRef ref() {
    CgroupRef r;
    r.version = 1;
    r.path = "/kubepods/burstable/podx/abc";
    r.id = key.second;
    return r;
}

struct RuncLoopResult {
    std::vector<EpisodeReport> reports;
    std::uint64_t end = 0;
};

// How a played runc loop runs: when it starts, how long its 10 ms sleep after each periodic thaw
// really lasts (longer on a loaded node), and whether the tracker is told runc is alive.
struct LoopPace {
    std::uint64_t start = 1'000 * ms;
    std::uint64_t periodic_sleep = 10 * ms;
    EpisodeTracker::Liveness alive;
};

// Plays runc's v1 freeze loop; the kernel reports FROZEN on try frozen_at (or never).
RuncLoopResult play_runc_v1_loop(EpisodeTracker &t, std::optional<int> frozen_at,
                                 const LoopPace &pace = {}) {
    RuncLoopResult r;
    std::uint64_t now = pace.start;
    auto take = [&](std::vector<EpisodeReport> v) {
        for (auto &x : v)
            r.reports.push_back(x);
    };
    for (int i = 0; i < 1000; ++i) {
        if (i % 50 == 49) {
            take(t.on_freeze_request(key, ref(), now, runc, false));
            now += pace.periodic_sleep;
            take(t.tick(now, pace.alive));
        }
        take(t.on_freeze_request(key, ref(), now, runc, true));
        now += 50 * us;
        if (i % 25 == 24)
            now += 10 * us;
        bool frozen = frozen_at && i == *frozen_at;
        take(t.on_state_read(key, now, frozen ? "FROZEN\n" : "FREEZING\n", false));
        now += 50 * us;
        take(t.tick(now, pace.alive));
        if (frozen) {
            r.end = now;
            return r;
        }
    }
    take(t.on_freeze_request(key, ref(), now, runc, false)); // deferred thaw on failure
    r.end = now;
    return r;
}

TEST(EpisodeTracker, RuncV1LoopThatNeverFreezesIsOneAbortedEpisode) {
    EpisodeTracker t;
    auto run = play_runc_v1_loop(t, std::nullopt);
    EXPECT_TRUE(run.reports.empty()) << "nothing ends while runc keeps trying";
    EXPECT_FALSE(t.freeze_in_effect(key)) << "thawed, though the episode waits out its grace";
    EXPECT_EQ(t.open_episodes(), 1u);
    auto reports = t.tick(run.end + 300 * ms);
    ASSERT_EQ(reports.size(), 1u);
    auto &r = reports[0];
    EXPECT_EQ(r.outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(r.counts.writes, 1000u);
    EXPECT_EQ(r.counts.reads, 1000u);
    EXPECT_EQ(r.counts.thaws, 21u); // 20 periodic + the final one
    EXPECT_EQ(r.writer.pid, runc.pid);
    EXPECT_EQ(r.end_ns, run.end) << "the episode ends at the final thaw, not at the grace expiry";
    EXPECT_GT(r.end_ns - r.start_ns, 200 * ms) << "runc sleeps about 200 ms in its loop";
    EXPECT_FALSE(t.freeze_in_effect(key));
}

TEST(EpisodeTracker, RuncV1LoopOnALoadedNodeIsStillOneEpisodeWhileRuncLives) {
    // Under load runc's 10 ms sleep lasts 600 ms: past thaw_grace, but runc is alive.
    bool runc_alive = true;
    EpisodeTracker t;
    LoopPace pace{1'000 * ms, 600 * ms,
                  [&](std::uint32_t pid) { return runc_alive && pid == runc.pid; }};
    auto run = play_runc_v1_loop(t, std::nullopt, pace);
    EXPECT_TRUE(run.reports.empty()) << "one attempt while runc lives";
    EXPECT_TRUE(t.tick(run.end + 300 * ms, pace.alive).empty()) << "runc has not exited yet";
    runc_alive = false; // runc exits with "unable to freeze"
    auto reports = t.tick(run.end + 400 * ms, pace.alive);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(reports[0].counts.writes, 1000u);
    EXPECT_EQ(reports[0].end_ns, run.end);

    // Without a way to tell, each sleep past thaw_grace ends an episode: 21 in all.
    EpisodeTracker blind;
    auto split = play_runc_v1_loop(blind, std::nullopt, LoopPace{1'000 * ms, 600 * ms, {}});
    EXPECT_EQ(split.reports.size(), 20u);
    EXPECT_EQ(blind.tick(split.end + 300 * ms).size(), 1u);
}

TEST(EpisodeTracker, ALiveThawerStillEndsAfterTheLongWindow) {
    EpisodeTracker t;
    auto always = [](std::uint32_t) { return true; };
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_freeze_request(key, ref(), 10 * ms, runc, false);
    EXPECT_TRUE(t.tick(1'000 * ms, always).empty());
    auto ended = t.tick(2'010 * ms, always);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].outcome, EpisodeOutcome::aborted);
}

TEST(EpisodeTracker, RuncUpdateRetryIsASecondEpisode) {
    // runc update: the freeze loop fails and thaws; runc reads the state back (GetFreezerState
    // before it retries Set with the old configuration) and runs a second loop 5 ms later.
    EpisodeTracker t;
    auto always = [](std::uint32_t) { return true; };
    auto first = play_runc_v1_loop(t, std::nullopt, LoopPace{1'000 * ms, 10 * ms, always});
    EXPECT_TRUE(first.reports.empty());
    auto ended = t.on_state_read(key, first.end + 2 * ms, "THAWED\n", false, runc.pid);
    ASSERT_EQ(ended.size(), 1u) << "runc read its thaw back: that attempt is over";
    EXPECT_EQ(ended[0].outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(ended[0].counts.writes, 1000u);
    EXPECT_EQ(ended[0].end_ns, first.end);
    auto second = play_runc_v1_loop(t, std::nullopt, LoopPace{first.end + 5 * ms, 10 * ms, always});
    EXPECT_TRUE(second.reports.empty());
    auto last = t.on_state_read(key, second.end + 2 * ms, "THAWED\n", false, runc.pid);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].counts.writes, 1000u);
    EXPECT_EQ(last[0].start_ns, first.end + 5 * ms);
}

TEST(EpisodeTracker, AThawedReadByAnotherProcessDoesNotEndTheAttempt) {
    EpisodeTracker t;
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_freeze_request(key, ref(), 5 * ms, runc, false); // runc's periodic thaw
    const std::uint32_t shim = 300;
    EXPECT_TRUE(t.on_state_read(key, 6 * ms, "THAWED\n", false, shim).empty())
        << "containerd asking for the task's state is not runc giving up";
    EXPECT_TRUE(t.on_state_read(key, 7 * ms, "THAWED\n", true, runc.pid).empty())
        << "freezeprobe's own look neither";
    t.on_freeze_request(key, ref(), 15 * ms, runc, true);
    EXPECT_EQ(t.pending().size(), 1u);
    EXPECT_EQ(t.open_episodes(), 1u);
}

TEST(EpisodeTracker, RuncV1LoopThatFreezesIsFrozenThenThawed) {
    EpisodeTracker t;
    auto run = play_runc_v1_loop(t, 60); // after one periodic thaw
    ASSERT_EQ(run.reports.size(), 1u);
    EXPECT_EQ(run.reports[0].outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(run.reports[0].counts.writes, 61u);
    EXPECT_EQ(run.reports[0].counts.reads, 61u);
    EXPECT_EQ(run.reports[0].counts.thaws, 1u);
    EXPECT_TRUE(t.freeze_in_effect(key));
    auto thawed = t.on_freeze_request(key, ref(), run.end + 5'000 * ms, runc, false);
    ASSERT_EQ(thawed.size(), 1u);
    EXPECT_EQ(thawed[0].outcome, EpisodeOutcome::thawed);
    EXPECT_EQ(thawed[0].end_ns - thawed[0].start_ns, run.end + 5'000 * ms - 1'000 * ms);
    EXPECT_FALSE(t.freeze_in_effect(key));
}

TEST(EpisodeTracker, V2FreezeCompletesOnNotificationThenThaws) {
    EpisodeTracker t;
    EXPECT_TRUE(t.on_freeze_request(key, ref(), 10 * ms, runc, true).empty());
    auto frozen = t.on_notify_frozen(key, 12 * ms, true);
    ASSERT_EQ(frozen.size(), 1u);
    EXPECT_EQ(frozen[0].outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(frozen[0].end_ns - frozen[0].start_ns, 2 * ms);
    EXPECT_TRUE(t.on_notify_frozen(key, 20 * ms, false).empty());
    auto thawed = t.on_freeze_request(key, ref(), 19 * ms, runc, false);
    ASSERT_EQ(thawed.size(), 1u);
    EXPECT_EQ(thawed[0].outcome, EpisodeOutcome::thawed);
}

TEST(EpisodeTracker, V2NotificationDeliveredBeforeItsWriteStillCompletes) {
    EpisodeTracker t;
    // The tracepoint fired inside the write, so its record was queued before the write's.
    EXPECT_TRUE(t.on_notify_frozen(key, 10 * ms + 5 * us, true).empty());
    auto frozen = t.on_freeze_request(key, ref(), 10 * ms, runc, true);
    ASSERT_EQ(frozen.size(), 1u);
    EXPECT_EQ(frozen[0].outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(frozen[0].end_ns - frozen[0].start_ns, 5 * us);
}

TEST(EpisodeTracker, OldNotificationDoesNotCompleteANewEpisode) {
    EpisodeTracker t;
    t.on_notify_frozen(key, 1 * ms, true); // from long before
    EXPECT_TRUE(t.on_freeze_request(key, ref(), 10 * ms, runc, true).empty());
    EXPECT_EQ(t.pending().size(), 1u);
}

TEST(EpisodeTracker, StallIsDueOnceAfterTheThresholdAndNeverWhenFrozen) {
    EpisodeTracker t(TrackerConfig{500 * ms, 250 * ms});
    t.on_freeze_request(key, ref(), 0, runc, true);
    EXPECT_TRUE(t.due_stalls(499 * ms).empty());
    auto due = t.due_stalls(500 * ms);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].writer.comm, "runc");
    EXPECT_TRUE(t.due_stalls(900 * ms).empty()) << "one stall per episode";
    std::vector<Blocker> blockers{{7, 7, "cat", "D", "request_wait_answer", {}, {}, {}}};
    t.set_blockers(key, blockers);
    t.on_freeze_request(key, ref(), 1'000 * ms, runc, false);
    auto ended = t.tick(2'000 * ms);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].outcome, EpisodeOutcome::aborted);
    ASSERT_EQ(ended[0].blockers.size(), 1u) << "the last blockers come with the episode";
    EXPECT_EQ(ended[0].blockers[0].wchan, "request_wait_answer");

    EpisodeTracker quick;
    quick.on_freeze_request(key, ref(), 0, runc, true);
    quick.on_state_read(key, 1 * ms, "FROZEN\n", false);
    EXPECT_TRUE(quick.due_stalls(10'000 * ms).empty());
}

TEST(EpisodeTracker, JoinsAreCountedOnlyDuringAnEpisode) {
    EpisodeTracker t;
    t.on_join(key);
    EXPECT_FALSE(t.freeze_in_effect(key));
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_join(key);
    t.on_freeze_request(key, ref(), 5 * ms, runc, false);
    t.on_join(key); // between runc's periodic thaw and its next freeze: same episode
    t.on_freeze_request(key, ref(), 15 * ms, runc, true);
    t.on_freeze_request(key, ref(), 20 * ms, runc, false);
    auto ended = t.tick(1'000 * ms);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].counts.joins, 2u);
}

TEST(EpisodeTracker, RemovalEndsAPendingEpisode) {
    EpisodeTracker t;
    t.on_freeze_request(key, ref(), 0, runc, true);
    auto removed = t.on_removed(key, 3 * ms);
    ASSERT_EQ(removed.size(), 1u);
    EXPECT_EQ(removed[0].outcome, EpisodeOutcome::removed);
    EXPECT_EQ(t.open_episodes(), 0u);

    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_state_read(key, 1 * ms, "FROZEN", false);
    EXPECT_TRUE(t.on_removed(key, 3 * ms).empty()) << "reported frozen already";
    EXPECT_EQ(t.open_episodes(), 0u);

    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_freeze_request(key, ref(), 1 * ms, runc, false);
    auto given_up = t.on_removed(key, 3 * ms);
    ASSERT_EQ(given_up.size(), 1u);
    EXPECT_EQ(given_up[0].outcome, EpisodeOutcome::aborted) << "thawed before it was removed";
    EXPECT_EQ(given_up[0].end_ns, 1 * ms);
}

TEST(EpisodeTracker, FinishReportsWhatIsStillOpen) {
    EpisodeTracker t;
    const CgroupKey other{42, 2000};
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_freeze_request(other, ref(), 0, runc, true);
    t.on_freeze_request(other, ref(), 1 * ms, runc, false);
    auto left = t.finish(10 * ms);
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].outcome, EpisodeOutcome::open);
    EXPECT_EQ(left[0].end_ns, 10 * ms);
    EXPECT_EQ(left[1].outcome, EpisodeOutcome::aborted);
}

TEST(EpisodeTracker, OwnReadsCompleteButAreNotCounted) {
    EpisodeTracker t;
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_state_read(key, 1 * ms, "FREEZING\n", true);
    auto frozen = t.on_state_read(key, 2 * ms, "FROZEN\n", true);
    ASSERT_EQ(frozen.size(), 1u);
    EXPECT_EQ(frozen[0].counts.reads, 0u);
}

TEST(EpisodeTracker, StateFileContents) {
    EXPECT_EQ(reads_as_frozen("FROZEN\n"), true);
    EXPECT_EQ(reads_as_frozen("FREEZING\n"), false);
    EXPECT_EQ(reads_as_frozen("THAWED\n"), false);
    EXPECT_EQ(reads_as_frozen("populated 1\nfrozen 1\n"), true);
    EXPECT_EQ(reads_as_frozen("populated 1\nfrozen 0\n"), false);
    EXPECT_EQ(reads_as_frozen("populated 1\nfroz"), std::nullopt) << "a short read";
    EXPECT_EQ(reads_as_frozen(""), std::nullopt);
}

// Thousands of short-lived cgroups, each frozen, thawed and removed as runtimes do (v2 with its
// notifications, v1 with a state read, and v2 descendants that are only notified): once removed,
// nothing of them is left in the tracker.
TEST(EpisodeTracker, ShortLivedCgroupsLeaveNothingBehind) {
    EpisodeTracker t;
    std::uint64_t now = 1'000 * ms;
    std::size_t frozen = 0, thawed = 0, removed = 0;
    auto count = [&](const std::vector<EpisodeReport> &v) {
        for (auto &r : v) {
            frozen += r.outcome == EpisodeOutcome::frozen;
            thawed += r.outcome == EpisodeOutcome::thawed;
            removed += r.outcome == EpisodeOutcome::removed;
        }
    };
    for (std::uint64_t i = 0; i < 10'000; ++i) {
        CgroupKey v2{7, 100'000 + i}, child{7, 500'000 + i}, v1{9, 900'000 + i};
        count(t.on_notify_frozen(v2, now, true)); // inside the write, before it is reported
        count(t.on_notify_frozen(child, now, true));
        count(t.on_freeze_request(v2, ref(), now, runc, true));
        count(t.on_freeze_request(v1, ref(), now, runc, true));
        count(t.on_state_read(v1, now + us, "FROZEN\n", false));
        count(t.on_freeze_request(v2, ref(), now + ms, runc, false));
        count(t.on_notify_frozen(v2, now + ms, false));
        count(t.on_freeze_request(v1, ref(), now + ms, runc, false));
        // One in ten is removed while its freeze is still pending.
        CgroupKey pending{11, 2'000'000 + i};
        if (i % 10 == 0)
            count(t.on_freeze_request(pending, ref(), now, runc, true));
        count(t.tick(now + 2 * ms));
        count(t.on_removed(child, now + 3 * ms));
        count(t.on_removed(v2, now + 3 * ms));
        count(t.on_removed(v1, now + 3 * ms));
        count(t.on_removed(pending, now + 3 * ms));
        now += 5 * ms;
    }
    EXPECT_EQ(frozen, 20'000u);
    EXPECT_EQ(thawed, 20'000u);
    EXPECT_EQ(removed, 1'000u);
    EXPECT_EQ(t.remembered_cgroups(), 0u);
    EXPECT_TRUE(t.finish(now).empty());
}

} // namespace
} // namespace freezeprobe

namespace freezeprobe {
namespace {

TEST(EpisodeTracker, HeldIsDueOnceForAFreezeNeverThawed) {
    TrackerConfig config;
    config.held_after_ns = 60'000 * ms;
    EpisodeTracker t(config);
    t.on_freeze_request(key, ref(), 0, runc, true);
    t.on_state_read(key, 2 * ms, "FROZEN\n", false);
    EXPECT_TRUE(t.due_held(59'999 * ms).empty());
    auto due = t.due_held(60'000 * ms);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_TRUE(due[0].frozen);
    EXPECT_EQ(due[0].writer.pid, runc.pid);
    EXPECT_EQ(due[0].start_ns, 0u);
    EXPECT_TRUE(t.due_held(120'000 * ms).empty()) << "once per episode";
}

TEST(EpisodeTracker, HeldCoversAFreezeStillFreezingButNotOneThawed) {
    TrackerConfig config;
    config.held_after_ns = 1'000 * ms;
    EpisodeTracker t(config);
    t.on_freeze_request(key, ref(), 0, runc, true); // runc killed: never read back, never thawed
    auto due = t.due_held(1'000 * ms);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_FALSE(due[0].frozen);

    EpisodeTracker thawed(config);
    thawed.on_freeze_request(key, ref(), 0, runc, true);
    thawed.on_freeze_request(key, ref(), 900 * ms, runc, false); // thawed within its grace
    EXPECT_TRUE(thawed.due_held(1'000 * ms).empty());
}

TEST(EpisodeTracker, JoinersAreKeptPerWriterWithTheirCount) {
    EpisodeTracker t;
    t.on_freeze_request(key, ref(), 0, runc, true);
    Task exec{300, 300, "runc"};
    Task shim{400, 401, "containerd-shim"};
    t.on_join(key, exec);
    t.on_join(key, shim);
    t.on_join(key, exec);
    for (std::uint32_t i = 0; i < 20; ++i)
        t.on_join(key, Task{1000 + i, 1000 + i, "x"});
    auto ended = t.finish(1 * ms);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].counts.joins, 23u);
    ASSERT_EQ(ended[0].joiners.size(), EpisodeTracker::max_joiners);
    EXPECT_EQ(ended[0].joiners[0], (Joiner{300, "runc", 2}));
    EXPECT_EQ(ended[0].joiners[1], (Joiner{400, "containerd-shim", 1}));
}

} // namespace
} // namespace freezeprobe

namespace freezeprobe {
namespace {

TEST(EpisodeTracker, ForksSetForAnEpisodeAreInItsStallAndItsReports) {
    EpisodeTracker t;
    t.set_forks(key, 5, {}); // no episode: nothing kept
    t.on_freeze_request(key, ref(), 0, runc, true);
    EXPECT_TRUE(t.has_episode(key));
    t.set_forks(key, 40, {Forker{90, "sh", 38}, Forker{91, "make", 2}});
    auto stalls = t.due_stalls(600 * ms);
    ASSERT_EQ(stalls.size(), 1u);
    EXPECT_EQ(stalls[0].counts.forks, 40u);
    EXPECT_EQ(stalls[0].forkers.size(), 2u);
    t.set_forks(key, 41, {Forker{90, "sh", 39}, Forker{91, "make", 2}}); // replaces, not adds
    auto frozen = t.on_state_read(key, 700 * ms, "FROZEN\n", false);
    ASSERT_EQ(frozen.size(), 1u);
    EXPECT_EQ(frozen[0].counts.forks, 41u);
    EXPECT_EQ(frozen[0].forkers[0], (Forker{90, "sh", 39}));
    auto thawed = t.on_freeze_request(key, ref(), 800 * ms, runc, false);
    ASSERT_EQ(thawed.size(), 1u);
    EXPECT_EQ(thawed[0].outcome, EpisodeOutcome::thawed);
    EXPECT_EQ(thawed[0].counts.forks, 41u) << "the thawed report keeps the episode's forks";
    EXPECT_FALSE(t.has_episode(key));
}

} // namespace
} // namespace freezeprobe
