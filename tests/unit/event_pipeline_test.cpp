// EventPipeline (EventBuilder + EpisodeTracker): raw records in, resolved events out. The
// hierarchies are fake mounts on plain directories under the test's temp dir; a cgroup's id is
// its directory's inode number, as on a real cgroup filesystem, so the resolver's rescan finds
// them. The state-file reader and the blocker finder are fakes.
#include "event_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

const std::string id_a = "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
const std::string id_b = "a09834fd8a50cf02cbe408e82e3ff497e64233cbd087c8f3c0544efb2773c765";
const std::string pod_a = "pod4164b8ac-667a-484c-9c8c-a16ddc6c0554";
const std::string pod_b = "pod14da2cad-22f9-417e-ab68-cb3ea420bdc8";

constexpr std::uint32_t v1_dev = kernel_dev(0, 34);
constexpr std::uint32_t v2_dev = kernel_dev(0, 38);
constexpr int v1_hierarchy_id = 6;
constexpr std::int64_t clock_offset = 1'700'000'000'000'000'000;
constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint32_t self_pid = 999;

// Ids no directory has: cgroups the tracepoints tell us about but the rescan cannot see.
constexpr std::uint64_t unseen_id = 1ull << 62;

std::uint64_t inode(const fs::path &p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
}

class EventPipelineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        root_ = fs::path(::testing::TempDir()) /
                ("freezeprobe_event_builder_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter++));
        fs::remove_all(root_);
        v1_mount_ = root_ / "freezer";
        v2_mount_ = root_ / "unified";
        container_path_ = "/kubepods/burstable/" + pod_a + "/" + id_a;
        fs::create_directories(v1_mount_ / container_path_.substr(1));
        fs::create_directories(v1_mount_ / "other");
        fs::create_directories(v2_mount_ / "demo" / "child");
        container_id_ = inode(v1_mount_ / container_path_.substr(1));
        other_id_ = inode(v1_mount_ / "other");
        demo_id_ = inode(v2_mount_ / "demo");
        child_id_ = inode(v2_mount_ / "demo" / "child");

        resolver_.emplace(std::vector<Hierarchy>{
            Hierarchy{1, v1_hierarchy_id, v1_dev, v1_mount_.string(), "rw,freezer"},
            Hierarchy{2, 0, v2_dev, v2_mount_.string(), "rw,nsdelegate"},
        });
        pipeline_.emplace(
            *resolver_, WallClock(clock_offset), TrackerConfig{500 * ms, 250 * ms},
            PipelineTimers{}, EventFilter{}, [this](const Event &e) { events_.push_back(e); },
            self_pid,
            [this](const Hierarchy &, const std::string &path) {
                state_reads_.push_back(path);
                return state_;
            },
            [this](const Hierarchy &, const std::string &path, bool reads_freezing) {
                BlockerScan scan;
                if (scan_verdict_) { // like the task iterator: it tells freezing itself
                    scan.freezing = *scan_verdict_;
                } else if (!reads_freezing) { // like /proc: nothing to look at
                    return scan;
                }
                scan.scanned = true;
                blocker_scans_.push_back(path);
                scan.blockers = blockers_;
                return scan;
            });
    }

    void TearDown() override { fs::remove_all(root_); }

    static IoRecord write(std::uint32_t dev, std::uint64_t id, ControlFile file, std::string data,
                          std::int64_t ret = 0) {
        IoRecord w;
        w.mono_ns = 5'000;
        w.latency_ns = 1'234;
        w.cgroup_id = id;
        w.ret = ret ? ret : static_cast<std::int64_t>(data.size());
        w.count = data.size();
        w.pid = 300;
        w.tid = 301;
        w.dev = dev;
        w.file = file;
        w.cgroup_version = dev == v2_dev ? 2 : 1;
        w.comm = "runc";
        w.data = std::move(data);
        return w;
    }

    static CgroupRecord cgroup(CgroupOp op, int hierarchy_id, std::uint64_t id,
                               std::string path = "") {
        CgroupRecord c;
        c.mono_ns = 4'000;
        c.op = op;
        c.hierarchy_id = hierarchy_id;
        c.cgroup_id = id;
        c.path = std::move(path);
        c.pid = 300;
        c.tid = 301;
        c.comm = "runc";
        return c;
    }

    // Feeds one write record; returns the write event it produced.
    Event build(const Record &r) {
        events_.clear();
        pipeline_->on_record(r);
        for (auto &e : events_)
            if (std::holds_alternative<FreezeWrite>(e.body) ||
                std::holds_alternative<ProcsWrite>(e.body))
                return e;
        ADD_FAILURE() << "no write event";
        return Event{};
    }

    // Feeds a record that must produce no write event.
    void feed(const Record &r) {
        events_.clear();
        pipeline_->on_record(r);
        for (auto &e : events_)
            EXPECT_FALSE(std::holds_alternative<FreezeWrite>(e.body) ||
                         std::holds_alternative<ProcsWrite>(e.body));
    }

    std::vector<Event> episodes() const {
        std::vector<Event> out;
        for (auto &e : events_)
            if (std::holds_alternative<FreezeEpisode>(e.body) ||
                std::holds_alternative<FreezeStall>(e.body))
                out.push_back(e);
        return out;
    }

    // The v1 container's freezer.state written with value at time t (ns).
    void write_v1_state(const std::string &value, std::uint64_t t) {
        auto w = write(v1_dev, container_id_, ControlFile::freezer_state, value);
        w.mono_ns = t;
        build(w);
    }

    // The blockers named by the one stall among the events; a failure if there is not one.
    // Ticks every step_ms from t_ms (left just past end_ms) to end_ms; the times (ms) of the
    // ticks that made a blocker scan.
    std::vector<std::uint64_t> scans_while_ticking(std::uint64_t &t_ms, std::uint64_t end_ms,
                                                   std::uint64_t step_ms) {
        std::vector<std::uint64_t> times;
        for (; t_ms <= end_ms; t_ms += step_ms) {
            auto before = blocker_scans_.size();
            pipeline_->tick(t_ms * ms);
            if (blocker_scans_.size() != before)
                times.push_back(t_ms);
        }
        return times;
    }
    std::vector<Blocker> stall_blockers() const {
        auto found = episodes();
        if (found.size() != 1 || !std::holds_alternative<FreezeStall>(found[0].body)) {
            ADD_FAILURE() << "expected one stall, got " << found.size() << " episode events";
            return {};
        }
        return std::get<FreezeStall>(found[0].body).blockers;
    }

    // A task held up in a FUSE read, as a scan reports it.
    Blocker fuse_reader() const {
        return Blocker{7, 7, "cat", "D", "request_wait_answer", {}, container_path_, {}};
    }

    ProcsWrite procs_after(std::uint32_t dev, std::uint64_t id) {
        auto event = build(write(dev, id, ControlFile::cgroup_procs, "1234\n"));
        EXPECT_TRUE(std::holds_alternative<ProcsWrite>(event.body));
        return std::get<ProcsWrite>(event.body);
    }

    bool during_freeze(std::uint32_t dev, std::uint64_t id) {
        return procs_after(dev, id).during_freeze;
    }

    fs::path root_, v1_mount_, v2_mount_;
    std::string container_path_;
    std::uint64_t container_id_ = 0, other_id_ = 0, demo_id_ = 0, child_id_ = 0;
    std::optional<CgroupResolver> resolver_;
    std::optional<EventPipeline> pipeline_;
    std::vector<Event> events_;
    std::optional<FreezeState> state_;
    std::vector<Blocker> blockers_;
    // Unset: the finder works like the /proc fallback; set: like the task iterator, which says
    // itself whether the cgroup was freezing during the scan.
    std::optional<bool> scan_verdict_;
    std::vector<std::string> state_reads_, blocker_scans_;
};

TEST_F(EventPipelineTest, FreezeWriteIsResolved) {
    auto event = build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n"));
    EXPECT_STREQ(type_name(event), "freeze_write");
    EXPECT_EQ(event.time_ns, static_cast<std::uint64_t>(clock_offset) + 5'000);
    ASSERT_TRUE(event.cgroup);
    EXPECT_EQ(event.cgroup->version, 1);
    EXPECT_EQ(event.cgroup->id, container_id_);
    EXPECT_EQ(event.cgroup->path, container_path_);
    ASSERT_TRUE(event.cgroup->container);
    EXPECT_EQ(event.cgroup->container->id, id_a);
    EXPECT_EQ(event.cgroup->container->qos, "burstable");
    auto &f = std::get<FreezeWrite>(event.body);
    EXPECT_EQ(f.value, "FROZEN");
    EXPECT_EQ(f.err, 0);
    EXPECT_EQ(f.latency_ns, 1'234u);
    EXPECT_EQ(f.writer.pid, 300u);
    EXPECT_EQ(f.writer.tid, 301u);
    EXPECT_EQ(f.writer.comm, "runc");
}

TEST_F(EventPipelineTest, HierarchyRootAndV2Paths) {
    auto root = build(write(v2_dev, inode(v2_mount_), ControlFile::cgroup_freeze, "1"));
    EXPECT_EQ(root.cgroup->version, 2);
    EXPECT_EQ(root.cgroup->path, "/");
    EXPECT_FALSE(root.cgroup->container);
    auto child = build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1"));
    EXPECT_EQ(child.cgroup->path, "/demo/child");
}

TEST_F(EventPipelineTest, ErrnoFromNegativeRet) {
    auto freeze =
        build(write(v1_dev, container_id_, ControlFile::freezer_state, "FREEZING\n", -22));
    EXPECT_EQ(std::get<FreezeWrite>(freeze.body).err, 22);
    EXPECT_EQ(std::get<FreezeWrite>(freeze.body).value, "FREEZING");

    auto procs = build(write(v1_dev, container_id_, ControlFile::tasks, "99999\n", -3));
    EXPECT_EQ(std::get<ProcsWrite>(procs.body).err, 3);
}

TEST_F(EventPipelineTest, ProcsWriteTargetPid) {
    struct Row {
        ControlFile file;
        std::string data;
        std::string value;
        std::optional<std::int64_t> target;
    };
    const Row rows[] = {
        {ControlFile::cgroup_procs, "1234\n", "1234", 1234},
        {ControlFile::tasks, "  77 ", "77", 77},
        {ControlFile::cgroup_threads, "0x10", "0x10", 16},
        {ControlFile::cgroup_procs, "abc\n", "abc", std::nullopt},
        {ControlFile::cgroup_procs, "", "", std::nullopt},
    };
    for (const auto &row : rows) {
        auto event = build(write(v1_dev, other_id_, row.file, row.data));
        EXPECT_STREQ(type_name(event), "procs_write");
        auto &p = std::get<ProcsWrite>(event.body);
        EXPECT_EQ(p.file, row.file);
        EXPECT_EQ(p.value, row.value);
        EXPECT_EQ(p.target_pid, row.target) << row.data;
        EXPECT_EQ(p.err, 0);
        EXPECT_FALSE(p.during_freeze);
        EXPECT_EQ(event.cgroup->path, "/other");
    }
}

TEST_F(EventPipelineTest, UnknownDevKeepsRecordVersion) {
    auto w = write(kernel_dev(0, 99), 5, ControlFile::cgroup_freeze, "1");
    w.cgroup_version = 2;
    auto event = build(w);
    ASSERT_TRUE(event.cgroup);
    EXPECT_EQ(event.cgroup->version, 2);
    EXPECT_EQ(event.cgroup->id, 5u);
    EXPECT_FALSE(event.cgroup->path);
    EXPECT_FALSE(event.cgroup->container);
}

TEST_F(EventPipelineTest, UnknownIdHasNoPath) {
    auto event = build(write(v1_dev, unseen_id, ControlFile::freezer_state, "FROZEN"));
    EXPECT_FALSE(event.cgroup->path);
    EXPECT_FALSE(event.cgroup->container);
}

TEST_F(EventPipelineTest, MkdirTeachesPathUsedByLaterWrite) {
    const std::string path = "/kubepods/besteffort/" + pod_b + "/" + id_b;
    feed(cgroup(CgroupOp::mkdir, v1_hierarchy_id, unseen_id, path));
    auto event = build(write(v1_dev, unseen_id, ControlFile::freezer_state, "FROZEN\n"));
    EXPECT_EQ(event.cgroup->path, path);
    ASSERT_TRUE(event.cgroup->container);
    EXPECT_EQ(event.cgroup->container->id, id_b);
    EXPECT_EQ(event.cgroup->container->qos, "besteffort");
}

TEST_F(EventPipelineTest, CgroupRecordForUnknownHierarchyIsIgnored) {
    feed(cgroup(CgroupOp::mkdir, 42, unseen_id + 1, "/nowhere"));
    feed(cgroup(CgroupOp::freeze, 42, unseen_id + 1, "/nowhere"));
    auto event = build(write(v1_dev, unseen_id + 1, ControlFile::cgroup_procs, "1"));
    EXPECT_FALSE(event.cgroup->path);
    EXPECT_FALSE(std::get<ProcsWrite>(event.body).during_freeze);
}

TEST_F(EventPipelineTest, V1FrozenMarksProcsWritesUntilThawed) {
    EXPECT_FALSE(during_freeze(v1_dev, container_id_));
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n"));
    EXPECT_TRUE(during_freeze(v1_dev, container_id_));
    EXPECT_TRUE(during_freeze(v1_dev, container_id_));  // stays until thawed
    EXPECT_FALSE(during_freeze(v1_dev, other_id_));     // only that cgroup
    EXPECT_FALSE(during_freeze(v2_dev, container_id_)); // only that hierarchy
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "THAWED\n"));
    EXPECT_FALSE(during_freeze(v1_dev, container_id_));
}

TEST_F(EventPipelineTest, V2OneAndZeroLikewise) {
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1\n"));
    EXPECT_TRUE(during_freeze(v2_dev, child_id_));
    EXPECT_FALSE(during_freeze(v2_dev, demo_id_));
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "0\n"));
    EXPECT_FALSE(during_freeze(v2_dev, child_id_));
}

TEST_F(EventPipelineTest, OtherValuesChangeNothing) {
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1"));
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "2")); // EINVAL in the kernel
    EXPECT_TRUE(during_freeze(v2_dev, child_id_));
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "frozen")); // case matters
    EXPECT_FALSE(during_freeze(v1_dev, container_id_));
}

// write(fd, buf, sizeof(buf)) with a reused buffer: the kernel stops at the first NUL.
TEST_F(EventPipelineTest, BytesAfterNulAreIgnoredLikeTheKernelDoes) {
    using namespace std::string_literals;
    auto freeze =
        build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\0\0\0\0THAWED\0"s));
    EXPECT_EQ(std::get<FreezeWrite>(freeze.body).value, "FROZEN");
    auto procs = build(write(v1_dev, container_id_, ControlFile::cgroup_procs,
                             "12\0"
                             "4567\0"s));
    EXPECT_EQ(std::get<ProcsWrite>(procs.body).target_pid, 12);
    EXPECT_TRUE(std::get<ProcsWrite>(procs.body).during_freeze);
}

TEST_F(EventPipelineTest, FailedFreezeDoesNotMark) {
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n", -22));
    EXPECT_FALSE(during_freeze(v1_dev, container_id_));
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1", -19));
    EXPECT_FALSE(during_freeze(v2_dev, child_id_));
}

TEST_F(EventPipelineTest, FailedThawDoesNotClear) {
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n"));
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "THAWED\n", -19));
    EXPECT_TRUE(during_freeze(v1_dev, container_id_));
}

TEST_F(EventPipelineTest, FreezeTracepointTeachesPath) {
    feed(cgroup(CgroupOp::freeze, 0, unseen_id + 2, "/demo/new"));
    auto event = build(write(v2_dev, unseen_id + 2, ControlFile::cgroup_procs, "1"));
    EXPECT_EQ(event.cgroup->path, "/demo/new");
}

TEST_F(EventPipelineTest, RmdirKeepsPathForLateWrite) {
    const std::string path = "/kubepods/besteffort/" + pod_b + "/" + id_b;
    feed(cgroup(CgroupOp::mkdir, v1_hierarchy_id, unseen_id + 3, path));
    build(write(v1_dev, unseen_id + 3, ControlFile::freezer_state, "FROZEN\n"));
    feed(cgroup(CgroupOp::rmdir, v1_hierarchy_id, unseen_id + 3, path));
    // runc writing to a cgroup that is already gone gets ENODEV; the event still names it.
    auto event = build(write(v1_dev, unseen_id + 3, ControlFile::freezer_state, "THAWED\n", -19));
    EXPECT_EQ(event.cgroup->path, path);
    ASSERT_TRUE(event.cgroup->container);
    EXPECT_EQ(event.cgroup->container->id, id_b);
    EXPECT_EQ(std::get<FreezeWrite>(event.body).err, 19);
    // Removal ends the freeze request.
    EXPECT_FALSE(during_freeze(v1_dev, unseen_id + 3));
}

TEST_F(EventPipelineTest, Lost) {
    events_.clear();
    pipeline_->lost(5);
    ASSERT_EQ(events_.size(), 1u);
    auto event = events_[0];
    EXPECT_STREQ(type_name(event), "lost");
    EXPECT_FALSE(event.cgroup);
    EXPECT_EQ(std::get<Lost>(event.body).count, 5u);
    // Stamped with the builder's clock: monotonic now plus the offset.
    EXPECT_GE(event.time_ns, static_cast<std::uint64_t>(clock_offset));
}

} // namespace
} // namespace freezeprobe

namespace freezeprobe {
namespace {

TEST_F(EventPipelineTest, WritesReadsAndTimersMakeEpisodes) {
    // runc-like v1 freeze: a write, a FREEZING read by runc, freezeprobe's own look, stall.
    auto w = write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n");
    w.mono_ns = 1'000 * ms;
    build(w);
    auto r = write(v1_dev, container_id_, ControlFile::freezer_state, "FREEZING\n");
    r.is_read = true;
    r.mono_ns = 1'001 * ms;
    feed(r);
    state_ = FreezeState::freezing;
    blockers_ = {Blocker{7,
                         8,
                         "cat",
                         "D",
                         "request_wait_answer",
                         {"request_wait_answer+0xd6"},
                         container_path_,
                         std::nullopt}};
    events_.clear();
    pipeline_->tick(1'200 * ms);
    EXPECT_EQ(state_reads_.size(), 2u) << "the state is read before and after the blocker scan";
    EXPECT_EQ(blocker_scans_.size(), 1u);
    EXPECT_TRUE(episodes().empty());
    pipeline_->tick(1'600 * ms);
    auto stalls = episodes();
    ASSERT_EQ(stalls.size(), 1u);
    auto &stall = std::get<FreezeStall>(stalls[0].body);
    EXPECT_EQ(stall.elapsed_ns, 600 * ms);
    EXPECT_EQ(stall.counts.writes, 1u);
    EXPECT_EQ(stall.counts.reads, 1u) << "runc's read counts, freezeprobe's own does not";
    ASSERT_EQ(stall.blockers.size(), 1u);
    EXPECT_NE(stall.diagnosis.find("request_wait_answer"), std::string::npos) << stall.diagnosis;
    EXPECT_NE(stall.diagnosis.find("runc[300]"), std::string::npos) << stall.diagnosis;
    EXPECT_EQ(blocker_scans_.size(), 2u) << "a second sample confirms the blocking threads";
    pipeline_->tick(1'700 * ms);
    EXPECT_EQ(blocker_scans_.size(), 2u)
        << "blockers found twice are looked at again only after the rescan interval";

    // The blocker goes away; freezeprobe's own read sees FROZEN.
    state_ = FreezeState::frozen;
    events_.clear();
    pipeline_->tick(1'800 * ms);
    auto done = episodes();
    ASSERT_EQ(done.size(), 1u);
    auto &episode = std::get<FreezeEpisode>(done[0].body);
    EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(episode.duration_ns, 800 * ms);
    EXPECT_EQ(episode.blockers.size(), 1u) << "the last blockers seen";
    EXPECT_TRUE(during_freeze(v1_dev, container_id_)) << "frozen until thawed";
}

TEST_F(EventPipelineTest, V2NotificationCompletesAndThawEnds) {
    auto w = write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1");
    w.mono_ns = 10 * ms;
    build(w);
    auto n = cgroup(CgroupOp::notify_frozen, 0, child_id_, "/demo/child");
    n.mono_ns = 11 * ms;
    n.val = 1;
    feed(n);
    auto done = episodes();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(done[0].body).outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(done[0].cgroup->path, "/demo/child");
    auto t = write(v2_dev, child_id_, ControlFile::cgroup_freeze, "0");
    t.mono_ns = 20 * ms;
    build(t);
    ASSERT_EQ(episodes().size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).outcome, EpisodeOutcome::thawed);
}

TEST_F(EventPipelineTest, RmdirEndsAPendingEpisode) {
    build(write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1"));
    feed(cgroup(CgroupOp::rmdir, 0, child_id_, "/demo/child"));
    ASSERT_EQ(episodes().size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).outcome, EpisodeOutcome::removed);
    EXPECT_FALSE(during_freeze(v2_dev, child_id_));
}

TEST_F(EventPipelineTest, FinishReportsOpenEpisodes) {
    build(write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN"));
    events_.clear();
    pipeline_->finish(9'000 * ms);
    ASSERT_EQ(episodes().size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).outcome, EpisodeOutcome::open);
}

} // namespace
} // namespace freezeprobe

namespace freezeprobe {
namespace {

// runc's v1 loop thaws for 10 ms every 50 tries; a scan made while the cgroup is thawed would
// list every task as a blocker, so it is thrown away.
TEST_F(EventPipelineTest, BlockersSeenOutsideAFreezeAreDiscarded) {
    auto w = write(v1_dev, container_id_, ControlFile::freezer_state, "FROZEN\n");
    w.mono_ns = 1'000 * ms;
    build(w);
    blockers_ = {Blocker{7, 7, "sleep", "S", "hrtimer_nanosleep", {}, container_path_, {}}};
    state_ = FreezeState::thawed;
    pipeline_->tick(1'100 * ms);
    EXPECT_TRUE(blocker_scans_.empty()) << "no scan while the cgroup reads THAWED";
    state_ = FreezeState::freezing;
    pipeline_->tick(1'110 * ms);
    EXPECT_EQ(blocker_scans_.size(), 1u);
    pipeline_->tick(1'112 * ms);
    EXPECT_EQ(blocker_scans_.size(), 1u) << "at most one scan per sample interval";
    events_.clear();
    pipeline_->tick(1'600 * ms);
    auto stalls = episodes();
    ASSERT_EQ(stalls.size(), 1u);
    EXPECT_EQ(std::get<FreezeStall>(stalls[0].body).blockers.size(), 1u);
}

// With the task iterator a scan needs no state reads around it: it is made even while the
// state file reads THAWED (runc's thaw windows are 10 ms in every 12), and its own verdict
// decides whether the blockers count.
TEST_F(EventPipelineTest, TheTaskIteratorsVerdictDecidesWithoutStateReads) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    blockers_ = {fuse_reader()};
    state_ = FreezeState::thawed;
    scan_verdict_ = false; // the scan fell in a thaw window: every task was asked to thaw
    pipeline_->tick(1'100 * ms);
    EXPECT_EQ(blocker_scans_.size(), 1u) << "scanned although the state file read THAWED";
    EXPECT_EQ(state_reads_.size(), 1u) << "no read after the scan";
    scan_verdict_ = true; // the next one saw the freezer asking
    pipeline_->tick(1'103 * ms);
    EXPECT_EQ(blocker_scans_.size(), 1u) << "at most one scan per sample interval";
    pipeline_->tick(1'110 * ms);
    EXPECT_EQ(blocker_scans_.size(), 2u);
    EXPECT_EQ(state_reads_.size(), 2u) << "one read before each scan, none after";
    events_.clear();
    pipeline_->tick(1'600 * ms);
    auto named = stall_blockers();
    ASSERT_EQ(named.size(), 1u);
    EXPECT_EQ(named[0].comm, "cat");
}

// Inside a long backlog only blockers are looked for: the episodes' view lags behind the kernel,
// so neither a completion seen now nor a stall is decided there.
TEST_F(EventPipelineTest, SamplingBetweenTicksOnlyRecordsBlockers) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    events_.clear();
    state_ = FreezeState::frozen;
    pipeline_->sample_blockers(1'100 * ms);
    EXPECT_TRUE(events_.empty()) << "a FROZEN read between ticks ends nothing";
    EXPECT_TRUE(blocker_scans_.empty());
    pipeline_->tick(1'101 * ms);
    ASSERT_EQ(episodes().size(), 1u) << "the next tick reads FROZEN itself and ends it";
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).outcome, EpisodeOutcome::frozen);

    // A second freeze, held up this time.
    write_v1_state("THAWED\n", 1'102 * ms);
    write_v1_state("FROZEN\n", 1'103 * ms);
    events_.clear();
    state_ = FreezeState::freezing;
    scan_verdict_ = true;
    blockers_ = {fuse_reader()};
    pipeline_->sample_blockers(1'700 * ms);
    EXPECT_EQ(blocker_scans_.size(), 1u);
    EXPECT_TRUE(events_.empty()) << "no stall decided between ticks";
    blockers_.clear(); // gone by the next tick: the sample is what the stall names
    pipeline_->tick(1'701 * ms);
    auto named = stall_blockers();
    ASSERT_EQ(named.size(), 1u);
    EXPECT_EQ(named[0].comm, "cat");
}

// A stuck freeze, once two scans agree, is rescanned after 1 s, then 2, 4 and at most 8 s while
// the scans find the same blockers (before 6.1 each scan walks every task of the node); a change
// in the blockers starts the cadence again, and the stall still names them.
TEST_F(EventPipelineTest, RescansBackOffWhileTheBlockersStayTheSame) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    blockers_ = {fuse_reader()};
    state_ = FreezeState::freezing;
    scan_verdict_ = true;
    std::uint64_t t = 1'100; // ms
    auto scan_times = scans_while_ticking(t, 33'000, 100);
    // Sampled (every tick here) until two scans agree, then 1, 2, 4 and 8 s apart.
    EXPECT_EQ(scan_times, (std::vector<std::uint64_t>{1'100, 1'200, 2'200, 4'200, 8'200, 16'200,
                                                      24'200, 32'200}));
    auto named = stall_blockers();
    ASSERT_EQ(named.size(), 1u) << "the stall names the blocker found by the first scan";
    EXPECT_EQ(named[0].comm, "cat");

    // Another thread holds it up now: found at the next (8 s) scan, confirmed by a sample, then
    // 1 s, 2 s... again.
    blockers_.push_back(Blocker{8, 8, "cat", "D", "request_wait_answer", {}, container_path_, {}});
    scan_times = scans_while_ticking(t, 45'000, 100);
    EXPECT_EQ(scan_times, (std::vector<std::uint64_t>{40'200, 40'300, 41'300, 43'300}));
}

// A pending freeze in which the scans find no blocker (a task the scan cannot see, or a freeze
// about to complete) is sampled ever less often: 5 ms apart, then 10, 20... up to 1 s; a blocker
// found starts the sampling again.
TEST_F(EventPipelineTest, ScansThatFindNoBlockerBackOffToo) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    state_ = FreezeState::freezing;
    scan_verdict_ = true;
    std::uint64_t t = 1'100; // ms
    auto scan_times = scans_while_ticking(t, 4'500, 5);
    EXPECT_EQ(scan_times, (std::vector<std::uint64_t>{1'100, 1'105, 1'115, 1'135, 1'175, 1'255,
                                                      1'415, 1'735, 2'375, 3'375, 4'375}));
    // A FUSE reader blocks it now: found at the next scan, then sampled until confirmed.
    blockers_ = {fuse_reader()};
    scan_times = scans_while_ticking(t, 5'400, 5);
    EXPECT_EQ(scan_times, (std::vector<std::uint64_t>{5'375, 5'380}));
}

// The first scan of a v2 freeze can find tasks still on their way to frozen (runnable, not yet
// run on a busy machine): the next sample, 5 ms later, corrects the blockers before the stall.
TEST_F(EventPipelineTest, ABlockerSetIsConfirmedBeforeTheRescansSlowDown) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    state_ = FreezeState::freezing;
    scan_verdict_ = true;
    Blocker on_its_way{9, 9, "sleep", "R", "", {}, container_path_, {}};
    blockers_ = {on_its_way, fuse_reader()};
    pipeline_->tick(1'100 * ms);
    blockers_ = {fuse_reader()};
    pipeline_->tick(1'105 * ms);
    EXPECT_EQ(blocker_scans_.size(), 2u);
    events_.clear();
    pipeline_->tick(1'600 * ms);
    auto named = stall_blockers();
    ASSERT_EQ(named.size(), 1u);
    EXPECT_EQ(named[0].comm, "cat");
}

TEST_F(EventPipelineTest, BlockersOfAScanThatSawNoFreezeAreDiscarded) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    blockers_ = {fuse_reader()};
    state_ = FreezeState::freezing;
    scan_verdict_ = false;
    for (int t = 1'100; t <= 1'600; t += 10)
        pipeline_->tick(t * ms);
    EXPECT_TRUE(stall_blockers().empty());
    EXPECT_GE(blocker_scans_.size(), 40u) << "a scan that saw no freeze is tried again";
}

} // namespace
} // namespace freezeprobe

namespace freezeprobe {
namespace {

// A fake of the kernel's fork counting: what the pipeline watched, read and let go.
struct FakeForkCounts {
    std::vector<std::pair<int, std::uint64_t>> watched;
    std::vector<bool> tallies; // the unwatch flag of each read
    EventPipeline::ForkCount count;
    EventPipeline::ForkCounter counter() {
        return {[this](int version, std::uint64_t id) {
                    watched.emplace_back(version, id);
                    return true;
                },
                [this](int, std::uint64_t, bool unwatch) {
                    tallies.push_back(unwatch);
                    return count;
                }};
    }
};

TEST_F(EventPipelineTest, ForksAreWatchedFromTheFreezeRequestUntilTheEpisodeFreezes) {
    FakeForkCounts forks;
    pipeline_->set_fork_counter(forks.counter());
    write_v1_state("FROZEN\n", 1'000 * ms);
    ASSERT_EQ(forks.watched.size(), 1u);
    EXPECT_EQ(forks.watched[0], (std::pair<int, std::uint64_t>(1, container_id_)));
    // runc's inner thaw and freeze continue the episode: no second watch.
    write_v1_state("THAWED\n", 1'010 * ms);
    write_v1_state("FROZEN\n", 1'020 * ms);
    EXPECT_EQ(forks.watched.size(), 1u);
    // Ten forkers, unsorted: the busiest eight are kept, busiest first.
    forks.count.forks = 100;
    for (std::uint32_t i = 0; i < 10; ++i)
        forks.count.forkers.push_back(Forker{500 + i, "sh", i + 1});
    state_ = FreezeState::freezing;
    events_.clear();
    pipeline_->tick(1'600 * ms);
    auto stalls = episodes();
    ASSERT_EQ(stalls.size(), 1u);
    auto &stall = std::get<FreezeStall>(stalls[0].body);
    EXPECT_EQ(stall.counts.forks, 100u);
    ASSERT_EQ(stall.forkers.size(), EpisodeTracker::max_forkers);
    EXPECT_EQ(stall.forkers[0], (Forker{509, "sh", 10}));
    EXPECT_EQ(stall.forkers[7], (Forker{502, "sh", 3}));
    EXPECT_EQ(forks.tallies, std::vector<bool>{false}) << "a stall reads without letting go";

    forks.count.forks = 120;
    state_ = FreezeState::frozen;
    events_.clear();
    pipeline_->tick(1'700 * ms);
    auto done = episodes();
    ASSERT_EQ(done.size(), 1u);
    auto &episode = std::get<FreezeEpisode>(done[0].body);
    EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
    EXPECT_EQ(episode.counts.forks, 120u);
    EXPECT_NE(episode.diagnosis.find("120 tasks were forked in it while it was pending, by "
                                     "sh[509] (10)"),
              std::string::npos)
        << episode.diagnosis;
    EXPECT_EQ(forks.tallies, (std::vector<bool>{false, true})) << "the end of freezing lets go";

    // A freeze request on the frozen cgroup starts no new count; the thaw reports the same.
    write_v1_state("FROZEN\n", 1'800 * ms);
    EXPECT_EQ(forks.watched.size(), 1u);
    forks.count.forks = 0;
    events_.clear();
    write_v1_state("THAWED\n", 1'900 * ms);
    auto thawed = episodes();
    ASSERT_EQ(thawed.size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(thawed[0].body).counts.forks, 120u);
    EXPECT_EQ(forks.tallies.size(), 2u);
}

TEST_F(EventPipelineTest, AnAbortedEpisodeReadsItsForksAndANewOneWatchesAgain) {
    FakeForkCounts forks;
    pipeline_->set_fork_counter(forks.counter());
    auto w = write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1");
    w.mono_ns = 10 * ms;
    build(w);
    auto t = write(v2_dev, child_id_, ControlFile::cgroup_freeze, "0");
    t.mono_ns = 20 * ms;
    build(t);
    forks.count = {3, {Forker{77, "bash", 3}}};
    events_.clear();
    pipeline_->tick(300 * ms);
    auto done = episodes();
    ASSERT_EQ(done.size(), 1u);
    auto &episode = std::get<FreezeEpisode>(done[0].body);
    EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(episode.counts.forks, 3u);
    EXPECT_NE(episode.diagnosis.find("a fork storm"), std::string::npos) << episode.diagnosis;
    EXPECT_EQ(forks.tallies, std::vector<bool>{true});
    w.mono_ns = 400 * ms;
    build(w);
    EXPECT_EQ(forks.watched.size(), 2u) << "the next episode is counted afresh";
    EXPECT_EQ(forks.watched[1], (std::pair<int, std::uint64_t>(2, child_id_)));
}

TEST_F(EventPipelineTest, AFreezeAlreadyReportedFrozenIsNotWatched) {
    FakeForkCounts forks;
    pipeline_->set_fork_counter(forks.counter());
    auto n = cgroup(CgroupOp::notify_frozen, 0, child_id_, "/demo/child");
    n.mono_ns = 9 * ms;
    n.val = 1;
    feed(n); // the notification fired inside the write, whose record comes second
    auto w = write(v2_dev, child_id_, ControlFile::cgroup_freeze, "1");
    w.mono_ns = 8 * ms;
    build(w);
    ASSERT_EQ(episodes().size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).outcome, EpisodeOutcome::frozen);
    EXPECT_TRUE(forks.watched.empty()) << "nothing would let go of it";
}

TEST_F(EventPipelineTest, WithoutAForkCounterEpisodesCountNoForks) {
    write_v1_state("FROZEN\n", 1'000 * ms);
    events_.clear();
    pipeline_->finish(2'000 * ms);
    ASSERT_EQ(episodes().size(), 1u);
    EXPECT_EQ(std::get<FreezeEpisode>(episodes()[0].body).counts.forks, 0u);
}

} // namespace
} // namespace freezeprobe
