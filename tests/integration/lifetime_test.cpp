// The probe's lifetime as the kernel sees it: a stop signal writes the report and detaches; after
// SIGKILL nothing of ours stays in the kernel (programs, maps and links are held only by the
// process's descriptors); two probes at once both see every write; and a closed output pipe ends
// the run with a clear message instead of a silent death by SIGPIPE. None of this is a freezer's:
// the writes go to the freezers the layout has (CgroupTest::freezer(), freezable()), so that every
// layout runs them.
#include "bpf_objects.h"
#include "probe_harness.h"
#include "subprocess.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <tuple>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class LifetimeTest : public CgroupTest {
  protected:
    std::vector<std::string> watch_json(std::vector<std::string> more = {}) {
        std::vector<std::string> argv{freezeprobe_binary(), "watch", "--events", "json",
                                      "--cgroup",           prefix_};
        argv.insert(argv.end(), more.begin(), more.end());
        return argv;
    }
    // The objects the kernel frees once their last descriptor is closed go away asynchronously
    // (RCU, a workqueue): wait for that, up to 5 s.
    static BpfObjects left_after_exit(const BpfObjects &held) {
        BpfObjects left = held;
        for (auto until = std::chrono::steady_clock::now() + 5s;
             !left.empty() && std::chrono::steady_clock::now() < until;
             std::this_thread::sleep_for(50ms))
            left = still_existing(held);
        return left;
    }
    // A probe's objects, read once it has attached: every program, map and link of both skeletons.
    static BpfObjects held_by(const RunningProcess &probe) {
        auto held = bpf_objects_of(probe.pid());
        EXPECT_GE(held.progs.size(), 9u) << describe(held);
        EXPECT_GE(held.maps.size(), 3u) << describe(held);
        EXPECT_GE(held.links.size(), 9u) << describe(held);
        return held;
    }

    ScratchDir dir_{"lifetime"};
};

TEST_F(LifetimeTest, StopSignalsWriteTheReportAndDetach) {
    REQUIRE_V2(v2_);
    for (int sig : {SIGINT, SIGTERM}) {
        SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
        auto report = dir_ / ("report-" + std::to_string(sig) + ".json");
        RunningProcess probe(watch_json({"--report", report.string()}));
        ASSERT_TRUE(probe.wait_for_stderr("attached", 10'000)) << probe.err();
        auto held = held_by(probe);
        auto id = random_hex(64);
        {
            ScratchCgroup cg(*v2_, prefix_ + "/docker-" + id + ".scope");
            write_control_file_or_throw(cg.file("cgroup.freeze"), "1");
            write_control_file_or_throw(cg.file("cgroup.freeze"), "0");
        }
        std::this_thread::sleep_for(300ms);
        auto r = probe.stop(sig);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto j = nlohmann::json::parse(read_file(report.string()));
        ASSERT_EQ(j["containers"].size(), 1u) << j.dump(2);
        EXPECT_EQ(j["containers"][0]["container"]["id"], id);
        EXPECT_EQ(j["containers"][0]["episodes"]["thawed"], 1) << j.dump(2);
        EXPECT_EQ(j["containers"][0]["files"]["cgroup.freeze"]["count"], 2) << j.dump(2);
        auto left = left_after_exit(held);
        EXPECT_TRUE(left.empty()) << "still in the kernel: " << describe(left);
    }
}

TEST_F(LifetimeTest, NothingIsLeftInTheKernelAfterSigkill) {
    // freezeprobe pins nothing: what it loads is held by its descriptors alone.
    auto pinned = [] {
        std::set<std::string> names;
        std::error_code ec;
        for (auto &e : fs::recursive_directory_iterator("/sys/fs/bpf", ec))
            names.insert(e.path().string());
        return names;
    };
    auto pinned_before = pinned();
    RunningProcess probe(watch_json({"--metrics", "127.0.0.1:0"}));
    ASSERT_TRUE(probe.wait_for_stderr("attached", 10'000)) << probe.err();
    auto held = held_by(probe);
    // Mid-run, with a write in flight and a freeze of a cgroup with a task in it (an episode whose
    // state the probe reads, and scans while it is freezing).
    ScratchCgroup cg(freezer(), prefix_ + "/killed");
    SleeperProcess sleeper;
    ThawGuard thaw(cg);
    write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(sleeper.pid()));
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
    std::this_thread::sleep_for(200ms);
    auto r = probe.stop(SIGKILL);
    EXPECT_EQ(r.exit_code, -1) << "killed";
    auto left = left_after_exit(held);
    EXPECT_TRUE(left.empty()) << "still in the kernel after SIGKILL: " << describe(left);
    EXPECT_EQ(pinned(), pinned_before);
}

// A stop signal that arrives while the probe is blocked writing to a reader that is behind (the
// pipe is full) must not fail the write: the events are delivered once the reader catches up.
TEST_F(LifetimeTest, StopWhileTheOutputPipeIsFullLosesNothing) {
    RunningProcess probe(watch_json());
    ASSERT_TRUE(probe.wait_for_stderr("attached", 10'000)) << probe.err();
    const int writes = 400; // ~600 bytes of JSON each: several times a 64 KiB pipe
    {
        ScratchCgroup cg(freezer(), prefix_ + "/slow-reader");
        for (int i = 0; i < writes; ++i)
            ASSERT_EQ(write_control_file(cg.file("cgroup.procs"), "x"), EINVAL);
    }
    // The probe must be blocked in write(2) on its stdout, a full pipe nobody reads, when the
    // stop request comes: wait until its main thread sleeps in pipe_write.
    // (pipe_write; anon_pipe_write on newer kernels, 6.18 here).
    auto wchan = [&] { return read_file("/proc/" + std::to_string(probe.pid()) + "/wchan"); };
    auto in_pipe_write = [&] { return wchan().ends_with("pipe_write"); };
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!in_pipe_write() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(in_pipe_write()) << "the probe never blocked on the full pipe: wchan " << wchan();
    ASSERT_EQ(::kill(probe.pid(), SIGINT), 0);
    // The signal is taken there (no longer pending) and the write goes on blocked; only then is
    // the pipe read.
    auto pending = [&] {
        auto status = read_file("/proc/" + std::to_string(probe.pid()) + "/status");
        return status.find("ShdPnd:\t0000000000000000") == std::string::npos ||
               status.find("SigPnd:\t0000000000000000") == std::string::npos;
    };
    until = std::chrono::steady_clock::now() + 10s;
    while (pending() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(pending()) << "SIGINT was never taken";
    EXPECT_TRUE(in_pipe_write()) << "the interrupted write did not go on: wchan " << wchan();
    auto r = probe.wait(10'000);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    int seen = 0;
    for (auto &j : json_lines(r.out))
        seen += j["type"] == "procs_write";
    EXPECT_EQ(seen, writes);
}

// Two probes attach the same tracepoints; each has its own ring buffer and filter state, so both
// must report every write, the same way: in each freezer the layout has, a join, a freeze, a thaw
// and a refused freeze write.
TEST_F(LifetimeTest, TwoInstancesBothSeeEverything) {
    RunningProcess first(watch_json());
    RunningProcess second(watch_json());
    ASSERT_TRUE(first.wait_for_stderr("attached", 10'000)) << first.err();
    ASSERT_TRUE(second.wait_for_stderr("attached", 10'000)) << second.err();
    const int rounds = 20;
    std::size_t expected = 0;
    {
        std::vector<std::unique_ptr<ScratchCgroup>> cgroups;
        for (const Hierarchy *h : freezable())
            cgroups.push_back(
                std::make_unique<ScratchCgroup>(*h, prefix_ + (h->version == 1 ? "/a" : "/b")));
        SleeperProcess sleeper;
        for (int i = 0; i < rounds; ++i) {
            for (auto &cg : cgroups) {
                write_control_file_or_throw(cg->file("cgroup.procs"),
                                            std::to_string(sleeper.pid()));
                write_control_file_or_throw(cg->freeze_file(), cg->freeze_value(true));
                write_control_file_or_throw(cg->freeze_file(), cg->freeze_value(false));
                // Refused: v2 with ERANGE (not 0 or 1), v1 with EINVAL (not THAWED or FROZEN).
                EXPECT_EQ(write_control_file(cg->freeze_file(), "2"),
                          cg->version() == 1 ? EINVAL : ERANGE);
                expected += 4;
            }
            first.collect_output(); // 40 KB or more in all: more than a pipe holds
            second.collect_output();
        }
    }
    using Seen = std::tuple<std::string, std::string, std::string, int, std::int64_t>;
    auto writes = [](const ProcessResult &r) {
        std::multiset<Seen> out;
        for (auto &j : json_lines(r.out))
            if (j["type"] == "freeze_write" || j["type"] == "procs_write")
                out.emplace(j["type"], j["cgroup"], j["value"], j["errno"], j["writer"]["tid"]);
        return out;
    };
    auto r1 = first.stop(SIGINT);
    auto r2 = second.stop(SIGINT);
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    auto w1 = writes(r1), w2 = writes(r2);
    EXPECT_EQ(w1.size(), expected) << r1.out;
    EXPECT_EQ(w1, w2);
    EXPECT_NE(r1.err.find(", 0 lost"), std::string::npos) << r1.err;
    EXPECT_NE(r2.err.find(", 0 lost"), std::string::npos) << r2.err;
}

// `freezeprobe watch --events json | head -1`: SIGPIPE is ignored, the failed write ends the run,
// the reports are still written and the exit code is 1 with one line naming the cause.
TEST_F(LifetimeTest, ClosedOutputPipeEndsTheRunWithExitOne) {
    auto report = dir_ / "report.json";
    RunningProcess probe(watch_json({"--report", report.string()}));
    ASSERT_TRUE(probe.wait_for_stderr("attached", 10'000)) << probe.err();
    auto held = held_by(probe);
    ScratchCgroup cg(freezer(), prefix_ + "/piped");
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
    auto first = probe.read_stdout_line(5'000);
    ASSERT_TRUE(first) << probe.err();
    EXPECT_EQ(nlohmann::json::parse(*first)["type"], "freeze_write");
    probe.close_stdout();
    // More events: writing them meets the closed pipe.
    for (int i = 0; i < 50; ++i)
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
    auto r = probe.wait(10'000);
    EXPECT_EQ(r.exit_code, 1) << "exit by itself with 1, not killed by SIGPIPE: " << r.err;
    EXPECT_NE(r.err.find("freezeprobe: stopped: writing events to stdout failed: Broken pipe\n"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("detached"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(report)) << "the report is written even so";
    auto left = left_after_exit(held);
    EXPECT_TRUE(left.empty()) << describe(left);
}

} // namespace
} // namespace freezeprobe::testing
