// Freeze and thaw writes on real v1 and v2 cgroups are captured with the right cgroup, container,
// value, writer and an in-kernel latency.
#include "probe_harness.h"

#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

class FreezeWriteTest : public ProbeTest {
  protected:
    void writer_thread_is_reported(const Hierarchy &h);
};

void expect_write(const Event &e, const FreezeWrite &w, const ScratchCgroup &cg, int version,
                  const std::string &value, const std::string &container_id) {
    ASSERT_TRUE(e.cgroup);
    EXPECT_EQ(e.cgroup->version, version);
    EXPECT_EQ(e.cgroup->path, cg.path());
    ASSERT_TRUE(e.cgroup->container) << cg.path();
    EXPECT_EQ(e.cgroup->container->id, container_id);
    EXPECT_EQ(w.value, value);
    EXPECT_EQ(w.err, 0);
    EXPECT_GT(w.latency_ns, 0u);
    EXPECT_LT(w.latency_ns, 5'000'000'000u);
    EXPECT_EQ(w.writer.pid, static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(w.writer.tid, static_cast<std::uint32_t>(::gettid()));
    EXPECT_FALSE(w.writer.comm.empty());
    ASSERT_TRUE(w.writer.parent) << "this test process is alive: its parent is known";
    EXPECT_EQ(w.writer.parent->pid, static_cast<std::uint32_t>(::getppid()));
    EXPECT_FALSE(w.writer.parent->comm.empty());
}

TEST_F(FreezeWriteTest, V1FrozenAndThawedAreCaptured) {
    REQUIRE_V1_FREEZER(v1_);
    auto id = random_hex(64);
    auto pod = random_uuid();
    SleeperProcess sleeper; // outlives the cgroup, which thaws and releases it first
    ScratchCgroup cg(v1(), v1_container_path(pod, id));
    write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(sleeper.pid()));
    write_control_file_or_throw(cg.file("freezer.state"), "FROZEN\n");
    write_control_file_or_throw(cg.file("freezer.state"), "THAWED\n");

    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeWrite>(ev).size() >= 2; }));
    auto writes = of_type<FreezeWrite>(events_);
    ASSERT_EQ(writes.size(), 2u);
    expect_write(writes[0].first, writes[0].second, cg, 1, "FROZEN", id);
    expect_write(writes[1].first, writes[1].second, cg, 1, "THAWED", id);
    EXPECT_EQ(writes[0].first.cgroup->container->pod_uid, pod);
    EXPECT_EQ(writes[0].first.cgroup->container->qos, "burstable");
    EXPECT_LE(writes[0].first.time_ns, writes[1].first.time_ns);
    cg.remove();
}

TEST_F(FreezeWriteTest, V2OneAndZeroAreCaptured) {
    REQUIRE_V2(v2_);
    auto id = random_hex(64);
    auto pod = random_uuid();
    SleeperProcess sleeper;
    ScratchCgroup cg(v2(), v2_container_path(pod, id));
    write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(sleeper.pid()));
    write_control_file_or_throw(cg.file("cgroup.freeze"), "1");
    write_control_file_or_throw(cg.file("cgroup.freeze"), "0");

    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeWrite>(ev).size() >= 2; }));
    auto writes = of_type<FreezeWrite>(events_);
    ASSERT_EQ(writes.size(), 2u);
    expect_write(writes[0].first, writes[0].second, cg, 2, "1", id);
    expect_write(writes[1].first, writes[1].second, cg, 2, "0", id);
    EXPECT_EQ(writes[0].first.cgroup->container->runtime, "containerd");
    EXPECT_EQ(writes[0].first.cgroup->container->pod_uid, pod);
    cg.remove();
}

// In each freezer hierarchy the layout mounts.
TEST_F(FreezeWriteTest, WriterThreadIsReported) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        writer_thread_is_reported(*h);
    }
}

void FreezeWriteTest::writer_thread_is_reported(const Hierarchy &h) {
    ScratchCgroup cg(h, prefix_ + "/threaded-v" + std::to_string(h.version));
    auto file = cg.freeze_file();
    pid_t writer_tid = 0;
    std::thread writer([&] {
        writer_tid = static_cast<pid_t>(::gettid());
        write_control_file_or_throw(file, cg.freeze_value(true));
    });
    writer.join();
    write_control_file_or_throw(file, cg.freeze_value(false));
    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeWrite>(ev).size() >= 2; }));
    auto writes = of_type<FreezeWrite>(events_);
    EXPECT_EQ(writes[0].second.writer.pid, static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(writes[0].second.writer.tid, static_cast<std::uint32_t>(writer_tid));
    EXPECT_NE(writes[0].second.writer.tid, writes[0].second.writer.pid);
    EXPECT_FALSE(writes[0].first.cgroup->container) << "not a container path";
    cg.remove();
}

} // namespace
} // namespace freezeprobe::testing
