// Aggregates for the reports and metrics: log2 histogram edges and quantiles, and per-cgroup and
// node-wide counts built from synthetic event sequences.
#include "aggregator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <set>
#include <string>

namespace freezeprobe {
namespace {

constexpr std::uint64_t t_ns = 1700000000ull * 1'000'000'000;
const std::string container_id = "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
const std::string pod_uid = "4164b8ac-667a-484c-9c8c-a16ddc6c0554";

CgroupRef v1_container(std::uint64_t id = 10) {
    return CgroupRef{1, "freezer", "/kubepods/burstable/pod" + pod_uid + "/" + container_id, id,
                     Container{container_id, "containerd", pod_uid, "burstable"}};
}

CgroupRef v2_plain(std::uint64_t id = 20) {
    return CgroupRef{2, "", "/system.slice/test.service", id, std::nullopt};
}

Event freeze(const CgroupRef &c, int err, std::uint64_t latency_ns) {
    return Event{t_ns, c, FreezeWrite{"FROZEN", err, latency_ns, Task{1, 1, "runc"}}};
}

Event procs(const CgroupRef &c, ControlFile file, int err, std::uint64_t latency_ns) {
    return Event{t_ns, c, ProcsWrite{file, "42", 42, err, latency_ns, Task{2, 2, "runc"}, false}};
}

Event episode(const CgroupRef &c, EpisodeOutcome outcome, std::uint64_t duration_ns) {
    FreezeEpisode e;
    e.outcome = outcome;
    e.duration_ns = duration_ns;
    e.diagnosis = std::string("episode ") + outcome_name(outcome);
    return Event{t_ns + duration_ns, c, e};
}

Event stall(const CgroupRef &c) {
    FreezeStall s;
    s.elapsed_ns = 500'000'000;
    s.diagnosis = "stalled";
    return Event{t_ns, c, s};
}

TEST(Log2Histogram, BucketEdges) {
    Log2Histogram h;
    h.add(0);
    h.add(1);
    h.add(2);
    h.add(3);
    h.add(4);
    h.add(std::uint64_t{1} << 63);
    h.add(UINT64_MAX);
    EXPECT_EQ(h.buckets[0], 1u);  // 0
    EXPECT_EQ(h.buckets[1], 1u);  // 1
    EXPECT_EQ(h.buckets[2], 2u);  // 2, 3
    EXPECT_EQ(h.buckets[3], 1u);  // 4
    EXPECT_EQ(h.buckets[64], 2u); // 2^63, UINT64_MAX
    EXPECT_EQ(h.count, 7u);
    EXPECT_EQ(h.max, UINT64_MAX);
}

TEST(Log2Histogram, BucketTop) {
    EXPECT_EQ(Log2Histogram::bucket_top(0), 0u);
    EXPECT_EQ(Log2Histogram::bucket_top(1), 1u);
    EXPECT_EQ(Log2Histogram::bucket_top(2), 3u);
    EXPECT_EQ(Log2Histogram::bucket_top(63), (std::uint64_t{1} << 63) - 1);
    EXPECT_EQ(Log2Histogram::bucket_top(64), UINT64_MAX);
    // Every value lands in a bucket whose top is at least the value, and above the one below.
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{7},
                            std::uint64_t{8}, std::uint64_t{1} << 63, UINT64_MAX}) {
        Log2Histogram h;
        h.add(v);
        std::size_t i = 0;
        while (h.buckets[i] == 0)
            ++i;
        EXPECT_GE(Log2Histogram::bucket_top(i), v) << v;
        if (i > 0) {
            EXPECT_LT(Log2Histogram::bucket_top(i - 1), v) << v;
        }
    }
}

TEST(Log2Histogram, EmptyQuantilesAreZero) {
    Log2Histogram h;
    EXPECT_EQ(h.quantile(0.5), 0u);
    EXPECT_EQ(h.quantile(0.99), 0u);
    EXPECT_EQ(h.quantile(1.0), 0u);
    EXPECT_EQ(h.max, 0u);
}

TEST(Log2Histogram, QuantilesOnKnownData) {
    Log2Histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v)
        h.add(v);
    // Ranks 50 and 99: 50 lies in [32, 63]; 99 in [64, 127], capped at the max seen.
    EXPECT_EQ(h.quantile(0.5), 63u);
    EXPECT_EQ(h.quantile(0.99), 100u);
    EXPECT_EQ(h.quantile(1.0), 100u);
    EXPECT_EQ(h.max, 100u);
    EXPECT_EQ(h.sum, 5050u);

    Log2Histogram one;
    one.add(1000);
    EXPECT_EQ(one.quantile(0.5), 1000u); // never above the largest value
    EXPECT_EQ(one.quantile(0.99), 1000u);

    Log2Histogram zeros;
    zeros.add(0);
    zeros.add(0);
    EXPECT_EQ(zeros.quantile(0.99), 0u);

    Log2Histogram huge;
    huge.add(UINT64_MAX);
    huge.add(std::uint64_t{1} << 63);
    EXPECT_EQ(huge.quantile(0.5), UINT64_MAX);
    EXPECT_EQ(huge.max, UINT64_MAX);
}

TEST(Log2Histogram, P99SeesTheTail) {
    Log2Histogram h;
    for (int i = 0; i < 98; ++i)
        h.add(10);
    h.add(1'000'000);
    h.add(1'000'000);
    EXPECT_EQ(h.quantile(0.5), 15u);
    EXPECT_EQ(h.quantile(0.99), 1'000'000u);
}

TEST(Aggregator, WritesWithErrorsPerFile) {
    Aggregator a;
    a.add(freeze(v1_container(), 0, 100));
    a.add(freeze(v1_container(), 22, 200));
    a.add(freeze(v1_container(), 22, 300));
    a.add(procs(v1_container(), ControlFile::cgroup_procs, 3, 400));
    a.add(procs(v1_container(), ControlFile::tasks, 0, 500));
    a.add(freeze(v2_plain(), 0, 50));
    a.add(freeze(v2_plain(), 4000, 60)); // no errno name

    ASSERT_EQ(a.cgroups().size(), 2u);
    auto &v1 = a.cgroups().at(Aggregator::Key{1, "freezer", 10});
    ASSERT_EQ(v1.files.size(), 3u);
    auto &state = v1.files.at("freezer.state");
    EXPECT_EQ(state.count, 3u);
    EXPECT_EQ(state.errors, (std::map<std::string, std::uint64_t>{{"EINVAL", 2}}));
    EXPECT_EQ(state.latency_ns.count, 3u);
    EXPECT_EQ(state.latency_ns.max, 300u);
    EXPECT_EQ(v1.files.at("cgroup.procs").errors.at("ESRCH"), 1u);
    EXPECT_TRUE(v1.files.at("tasks").errors.empty());
    ASSERT_EQ(v1.failures.size(), 3u);
    for (auto &f : v1.failures) {
        EXPECT_EQ(f.kind, "write-error");
        EXPECT_EQ(f.time_ns, t_ns);
        EXPECT_FALSE(f.message.empty());
    }

    auto &v2 = a.cgroups().at(Aggregator::Key{2, "", 20});
    EXPECT_EQ(v2.files.at("cgroup.freeze").count, 2u);
    EXPECT_EQ(v2.files.at("cgroup.freeze").errors.at("E4000"), 1u);
    EXPECT_EQ(a.write_errors(), 4u);

    // Node-wide, by (file, error), "" meaning success.
    std::map<Aggregator::WriteLabels, std::uint64_t> want{
        {{"freezer.state", ""}, 1},     {{"freezer.state", "EINVAL"}, 2},
        {{"cgroup.procs", "ESRCH"}, 1}, {{"tasks", ""}, 1},
        {{"cgroup.freeze", ""}, 1},     {{"cgroup.freeze", "E4000"}, 1}};
    EXPECT_EQ(a.writes_total(), want);
    EXPECT_EQ(a.write_latency_ns().at("freezer.state").count, 3u);
    EXPECT_EQ(a.write_latency_ns().at("cgroup.freeze").max, 60u);
}

TEST(Aggregator, EpisodesByOutcome) {
    Aggregator a;
    a.add(episode(v1_container(), EpisodeOutcome::frozen, 1000));
    a.add(episode(v1_container(), EpisodeOutcome::frozen, 3000));
    a.add(episode(v1_container(), EpisodeOutcome::aborted, 5'000'000'000));
    a.add(episode(v1_container(), EpisodeOutcome::thawed, 7000));
    a.add(episode(v2_plain(), EpisodeOutcome::removed, 9000));
    a.add(episode(v2_plain(), EpisodeOutcome::open, 11000));
    a.add(stall(v1_container()));

    auto &v1 = a.cgroups().at(Aggregator::Key{1, "freezer", 10});
    EXPECT_EQ(v1.episodes,
              (std::map<std::string, std::uint64_t>{{"frozen", 2}, {"aborted", 1}, {"thawed", 1}}));
    // Freeze latency only from frozen episodes.
    EXPECT_EQ(v1.freeze_latency_ns.count, 2u);
    EXPECT_EQ(v1.freeze_latency_ns.max, 3000u);
    EXPECT_EQ(v1.freeze_latency_ns.sum, 4000u);
    EXPECT_EQ(a.freeze_duration_ns().count, 2u);
    EXPECT_EQ(v1.stalls, 1u);
    ASSERT_EQ(v1.failures.size(), 2u);
    EXPECT_EQ(v1.failures[0].kind, "aborted");
    EXPECT_EQ(v1.failures[0].message, "episode aborted");
    EXPECT_EQ(v1.failures[0].time_ns, t_ns + 5'000'000'000);
    EXPECT_EQ(v1.failures[1].kind, "stall");
    EXPECT_EQ(v1.failures[1].message, "stalled");

    auto &v2 = a.cgroups().at(Aggregator::Key{2, "", 20});
    EXPECT_EQ(v2.episodes, (std::map<std::string, std::uint64_t>{{"removed", 1}, {"open", 1}}));
    EXPECT_EQ(v2.freeze_latency_ns.count, 0u);
    EXPECT_TRUE(v2.failures.empty()) << "removed and open episodes are not failures by themselves";

    EXPECT_EQ(a.aborted(), 1u);
    EXPECT_EQ(a.stalls(), 1u);
    EXPECT_EQ(a.write_errors(), 0u);

    std::map<Aggregator::EpisodeLabels, std::uint64_t> want{
        {{"frozen", "v1", container_id, pod_uid, "", "", ""}, 2},
        {{"aborted", "v1", container_id, pod_uid, "", "", ""}, 1},
        {{"thawed", "v1", container_id, pod_uid, "", "", ""}, 1},
        {{"removed", "v2", "", "", "", "", ""}, 1},
        {{"open", "v2", "", "", "", "", ""}, 1}};
    EXPECT_EQ(a.episodes_total(), want);
}

TEST(Aggregator, LostEventsNeedNoCgroup) {
    Aggregator a;
    a.add(Event{t_ns, std::nullopt, Lost{5}});
    a.add(Event{t_ns, std::nullopt, Lost{7}});
    a.add(Event{t_ns, std::nullopt, FreezeWrite{}}); // no cgroup: nothing to count it under
    EXPECT_EQ(a.events_lost(), 12u);
    EXPECT_TRUE(a.cgroups().empty());
    EXPECT_TRUE(a.writes_total().empty());
}

TEST(Aggregator, FailuresAreCapped) {
    Aggregator a;
    const std::size_t n = Aggregator::max_failures + 23;
    for (std::size_t i = 0; i < n; ++i)
        a.add(freeze(v2_plain(), 16, i));
    auto &s = a.cgroups().at(Aggregator::Key{2, "", 20});
    EXPECT_EQ(s.failures.size(), Aggregator::max_failures);
    EXPECT_EQ(s.failures_dropped, 23u);
    EXPECT_EQ(s.files.at("cgroup.freeze").errors.at("EBUSY"), n); // counts are never capped
    EXPECT_EQ(a.write_errors(), n);
}

TEST(Aggregator, CgroupsAreKeyedByHierarchyAndKeepTheirPath) {
    Aggregator a;
    auto freezer = v1_container(10);
    auto cpu = v1_container(10); // the same id in another v1 hierarchy is another cgroup
    cpu.controllers = "cpu,cpuacct";
    a.add(procs(freezer, ControlFile::cgroup_procs, 0, 1));
    a.add(procs(cpu, ControlFile::cgroup_procs, 0, 1));
    EXPECT_EQ(a.cgroups().size(), 2u);

    // After removal the resolver may no longer know the path: keep the one seen before.
    auto gone = freezer;
    gone.path.reset();
    gone.container.reset();
    a.add(episode(gone, EpisodeOutcome::removed, 1));
    auto &s = a.cgroups().at(Aggregator::Key{1, "freezer", 10});
    EXPECT_EQ(s.cgroup.path, freezer.path);
    EXPECT_EQ(s.cgroup.container, freezer.container);
    EXPECT_EQ(s.episodes.at("removed"), 1u);
    // ... and the node-wide series count it under that container too.
    EXPECT_EQ(a.episodes_total(), (std::map<Aggregator::EpisodeLabels, std::uint64_t>{
                                      {{"removed", "v1", container_id, pod_uid, "", "", ""}, 1}}));
}

// Short-lived cgroups beyond max_cgroups: the least recently active clean ones are dropped and
// counted, a cgroup with a failure or stall is kept, the node-wide series keep everything.
TEST(Aggregator, KeepsAtMostMaxCgroups) {
    Aggregator a(true, 3);
    auto at = [](Event e, std::uint64_t t) {
        e.time_ns = t;
        return e;
    };
    a.add(at(freeze(v2_plain(1), EINVAL, 10), 1)); // a failure: kept
    for (std::uint64_t id = 2; id <= 1000; ++id)
        a.add(at(procs(v2_plain(id), ControlFile::cgroup_procs, 0, 10), id));
    a.add(at(stall(v2_plain(5000)), 5000)); // a stall: kept
    a.add(at(procs(v2_plain(6000), ControlFile::cgroup_procs, 0, 10), 6000));
    ASSERT_EQ(a.cgroups().size(), 3u);
    std::set<std::uint64_t> kept;
    for (auto &[key, s] : a.cgroups())
        kept.insert(s.cgroup.id);
    EXPECT_EQ(kept, (std::set<std::uint64_t>{1, 5000, 6000}));
    EXPECT_EQ(a.cgroups_dropped(), 999u);
    EXPECT_EQ(a.writes_total().at({"cgroup.procs", ""}), 1000u);
    EXPECT_EQ(a.write_errors(), 1u);
    EXPECT_EQ(a.stalls(), 1u);
}

// Without a report, JUnit or live table nothing is kept per cgroup; the metrics and the --fail-on
// counters are the same.
TEST(Aggregator, NodeWideOnly) {
    Aggregator full, node_wide(false);
    for (std::uint64_t id = 1; id <= 100; ++id)
        for (auto *a : {&full, &node_wide}) {
            a->add(freeze(v1_container(id), id % 10 ? 0 : EBUSY, 1000 * id));
            a->add(episode(v1_container(id),
                           id % 3 ? EpisodeOutcome::frozen : EpisodeOutcome::aborted, id));
            a->add(procs(v2_plain(id), ControlFile::tasks, 0, 10));
        }
    EXPECT_TRUE(node_wide.cgroups().empty());
    EXPECT_EQ(full.cgroups().size(), 200u);
    EXPECT_EQ(node_wide.cgroups_dropped(), 0u);
    EXPECT_EQ(node_wide.episodes_total(), full.episodes_total());
    EXPECT_EQ(node_wide.writes_total(), full.writes_total());
    EXPECT_EQ(node_wide.freeze_duration_ns().count, full.freeze_duration_ns().count);
    EXPECT_EQ(node_wide.aborted(), full.aborted());
    EXPECT_EQ(node_wide.write_errors(), full.write_errors());
}

// With container churn the per-container episode series stay within max_containers: the series
// of the container whose episodes changed least recently go first; series outside containers
// (container_id "") are never dropped.
TEST(Aggregator, KeepsTheEpisodeSeriesOfAtMostMaxContainers) {
    Aggregator a(false);
    const std::size_t n = Aggregator::max_containers + 500;
    auto container = [](std::size_t i) {
        auto id = fmt::format("{:064x}", i);
        return CgroupRef{2, "", "/docker-" + id + ".scope", i, Container{id, "docker", {}, {}}};
    };
    for (std::size_t i = 1; i < n; ++i) {
        if (i % 100 == 1) // a long-lived container, frozen now and then: never the oldest
            a.add(episode(container(0), EpisodeOutcome::frozen, 1));
        a.add(episode(container(i), EpisodeOutcome::frozen, 1));
        a.add(episode(container(i), EpisodeOutcome::thawed, 1));
        a.add(episode(v2_plain(), EpisodeOutcome::frozen, 1));
    }
    std::set<std::string> containers;
    for (auto &[labels, count] : a.episodes_total())
        containers.insert(std::get<2>(labels));
    EXPECT_EQ(containers.size(), Aggregator::max_containers + 1); // and ""
    EXPECT_TRUE(containers.contains(""));
    EXPECT_TRUE(containers.contains(container(0).container->id));
    EXPECT_TRUE(containers.contains(container(n - 1).container->id));
    EXPECT_FALSE(containers.contains(container(1).container->id));
    EXPECT_EQ(a.containers_dropped(), n - Aggregator::max_containers);
    EXPECT_EQ(a.episodes_total().at({"frozen", "v2", "", "", "", "", ""}), n - 1);
    EXPECT_EQ(a.episodes_total().at({"frozen", "v2", container(0).container->id, "", "", "", ""}),
              15u);
}

} // namespace
} // namespace freezeprobe
