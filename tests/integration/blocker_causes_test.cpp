// Causes on the real kernel beyond the plain FUSE read (freeze_stall_test.cpp covers that one): a
// reader in D state on a loop device whose backing file is on a held FUSE file system; tasks that
// look alarming but do not hold a freeze (a vfork parent, a ptrace-stopped and a SIGSTOPped task);
// a freeze never thawed (freeze_held); processes joining a freezing cgroup (joiners).
//
// Declaration order is cleanup order, reversed: the FUSE release comes last in each scope so that
// it runs first, then the loop device is detached, the cgroup thawed, the processes killed and
// reaped by their PIDs, and the cgroup removed.
#include "loop_device.h"
#include "probe_harness.h"
#include "subprocess.h"

#include "blocker_cause.h"
#include "hang_fuse.h"
#include "text_util.h"

#include <csignal>
#include <fmt/format.h>
#include <cstdlib>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

// A forked child running body(); killed (SIGKILL, by its PID) and reaped on destruction.
class Child {
  public:
    // keep_fd: one descriptor (>= 3) the child keeps open, e.g. a pipe's write end.
    explicit Child(const std::function<void()> &body, int keep_fd = -1) {
        pid_ = ::fork();
        if (pid_ == 0) {
            // No copy of a HangFuse connection or the probe's descriptors.
            if (keep_fd > 3)
                ::close_range(3, keep_fd - 1, 0);
            ::close_range(keep_fd >= 3 ? keep_fd + 1 : 3, ~0U, 0);
            body();
            ::_exit(0);
        }
        if (pid_ < 0)
            throw std::system_error(errno, std::generic_category(), "fork");
    }
    ~Child() {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, __WALL);
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_;
};

std::string proc_state(pid_t tid) {
    std::string comm, state;
    parse_proc_stat(read_file("/proc/" + std::to_string(tid) + "/stat"), comm, state);
    return state;
}

bool wait_state(pid_t tid, const std::string &state, std::chrono::milliseconds timeout) {
    return eventually([&] { return proc_state(tid) == state; }, timeout);
}

class BlockerCausesTest : public ProbeTest {
  protected:
    void configure(SessionOptions &options) override {
        options.tracker.stall_after_ns = 300'000'000;
        options.tracker.held_after_ns = held_after_ns_;
    }
    std::uint64_t held_after_ns_ = 60'000'000'000;
};

TEST_F(BlockerCausesTest, LoopDeviceReaderOnAHeldFuseFileIsBlockIoNamingTheDaemon) {
    ScratchCgroup cg(freezer(), prefix_ + "/loop");
    HangFuse fuse;
    fuse.answer_reads_at_once(true); // losetup may read; only the test's reader is held
    LoopDevice loop(fuse.file_path());
    struct stat loop_stat {};
    ASSERT_EQ(::stat(loop.path().c_str(), &loop_stat), 0);
    struct stat mount_stat {};
    ASSERT_EQ(::stat(fuse.mount_point().c_str(), &mount_stat), 0);
    auto connection = std::to_string(minor(mount_stat.st_dev));
    fuse.answer_reads_at_once(false);
    auto held_before = fuse.held_reads();

    auto cgroup_procs = cg.file("cgroup.procs");
    auto device = loop.path();
    // Declared before the ThawGuard: thawed first, then killed (a frozen task cannot die).
    Child reader([&] {
        if (write_control_file(cgroup_procs, "0") != 0)
            ::_exit(90);
        int fd = ::open(device.c_str(), O_RDONLY | O_DIRECT);
        void *buf = nullptr;
        if (fd < 0 || ::posix_memalign(&buf, 4096, 4096) != 0)
            ::_exit(91);
        ::_exit(::pread(fd, buf, 4096, 0) == 4096 ? 0 : 100);
    });
    ThawGuard thaw_guard(cg);
    struct Release {
        HangFuse &fuse;
        ~Release() { fuse.abort_connection(); }
    } release{fuse};
    ASSERT_TRUE(fuse.wait_for_held_reads(held_before + 1, 5s)) << "the loop worker's FUSE read";
    ASSERT_TRUE(wait_state(reader.pid(), "D", 5s)) << proc_state(reader.pid());

    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeStall>(ev).empty(); }, 5s));
    auto stall = of_type<FreezeStall>(events_)[0].second;
    std::cout << "freezeprobe said: " << stall.diagnosis << "\n";
    ASSERT_EQ(stall.blockers.size(), 1u) << stall.diagnosis;
    auto &b = stall.blockers[0];
    EXPECT_EQ(b.pid, static_cast<std::uint32_t>(reader.pid()));
    EXPECT_EQ(b.state, "D");
    ASSERT_TRUE(b.cause);
    EXPECT_EQ(b.cause->kind, CauseKind::block_io) << b.cause->detail;
    EXPECT_EQ(b.cause->device,
              fmt::format("{}:{}", major(loop_stat.st_rdev), minor(loop_stat.st_rdev)));
    EXPECT_NE(b.cause->detail.find(fuse.file_path()), std::string::npos) << b.cause->detail;
    ASSERT_TRUE(b.cause->holder) << b.cause->detail;
    EXPECT_EQ(b.cause->holder->pid, static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(b.cause->hint,
              fuse_abort_hint(std::stoul(connection),
                              !std::filesystem::is_empty("/sys/fs/fuse/connections")));
}

// The freeze completes with the task in the cgroup, and nobody is named.
void expect_frozen_without_blockers(const std::vector<Event> &all, const std::string &path) {
    std::vector<Event> events;
    for (auto &e : all)
        if (e.cgroup && e.cgroup->path == path)
            events.push_back(e);
    EXPECT_TRUE(of_type<FreezeStall>(events).empty());
    auto episodes = of_type<FreezeEpisode>(events);
    ASSERT_FALSE(episodes.empty());
    EXPECT_EQ(episodes[0].second.outcome, EpisodeOutcome::frozen) << episodes[0].second.diagnosis;
    EXPECT_TRUE(episodes[0].second.blockers.empty()) << episodes[0].second.diagnosis;
}

TEST_F(BlockerCausesTest, VforkParentPtraceStoppedAndSigstoppedTasksAreNotBlockers) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        ScratchCgroup cg(*h, prefix_ + "/quiet-v" + std::to_string(h->version));
        auto procs = cg.file("cgroup.procs");
        // A vfork parent: its child pauses without exec, so the parent stays in vfork's wait.
        int pipe_fds[2];
        ASSERT_EQ(::pipe(pipe_fds), 0);
        Child vfork_parent(
            [&] {
                ::close(pipe_fds[0]);
                if (write_control_file(procs, "0") != 0)
                    ::_exit(90);
                if (::vfork() == 0) {
                    pid_t me = static_cast<pid_t>(::syscall(SYS_getpid));
                    [[maybe_unused]] auto n = ::write(pipe_fds[1], &me, sizeof me);
                    for (;;)
                        ::pause();
                }
                ::_exit(0);
            },
            pipe_fds[1]);
        ::close(pipe_fds[1]);
        pid_t vfork_child = -1;
        ASSERT_EQ(::read(pipe_fds[0], &vfork_child, sizeof vfork_child),
                  static_cast<ssize_t>(sizeof vfork_child));
        ::close(pipe_fds[0]);
        struct KillVforkChild {
            pid_t pid;
            ~KillVforkChild() { ::kill(pid, SIGKILL); }
        } kill_vfork_child{vfork_child};
        Child traced([&] {
            if (write_control_file(procs, "0") != 0)
                ::_exit(90);
            for (;;)
                ::pause();
        });
        Child stopped([&] {
            if (write_control_file(procs, "0") != 0)
                ::_exit(90);
            for (;;)
                ::pause();
        });
        ASSERT_TRUE(eventually(
            [&] {
                return read_file(procs).find(std::to_string(stopped.pid())) != std::string::npos &&
                       read_file(procs).find(std::to_string(traced.pid())) != std::string::npos;
            },
            5s));
        ASSERT_EQ(::ptrace(PTRACE_SEIZE, traced.pid(), nullptr, nullptr), 0);
        ASSERT_EQ(::ptrace(PTRACE_INTERRUPT, traced.pid(), nullptr, nullptr), 0);
        ASSERT_TRUE(wait_state(traced.pid(), "t", 5s)) << proc_state(traced.pid());
        ASSERT_EQ(::kill(stopped.pid(), SIGSTOP), 0);
        ASSERT_TRUE(wait_state(stopped.pid(), "T", 5s)) << proc_state(stopped.pid());
        EXPECT_EQ(proc_state(vfork_parent.pid()), "D") << "the vfork parent waits for its child";

        ThawGuard thaw_guard(cg);
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
        ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 5s));
        collect_for(400ms); // a stall would come after 300 ms
        expect_frozen_without_blockers(events_, cg.path());
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
        wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 2; });
    }
}

class HeldTest : public BlockerCausesTest {
  protected:
    HeldTest() { held_after_ns_ = 1'000'000'000; }
};

TEST_F(HeldTest, AFreezeNeverThawedIsReportedHeldOnce) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        ScratchCgroup cg(*h, prefix_ + "/held-v" + std::to_string(h->version));
        SleeperProcess sleeper;
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(sleeper.pid()));
        ThawGuard thaw_guard(cg);
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
        ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeHeld>(ev).empty(); }, 5s));
        collect_for(1500ms);
        auto held = of_type<FreezeHeld>(events_);
        ASSERT_EQ(held.size(), 1u) << "reported once";
        auto &[event, h_] = held[0];
        std::cout << "freezeprobe said: " << h_.diagnosis << "\n";
        EXPECT_EQ(event.cgroup->path, prefix_ + "/held-v" + std::to_string(h->version));
        EXPECT_TRUE(h_.frozen);
        EXPECT_EQ(h_.writer.pid, static_cast<std::uint32_t>(::getpid()));
        EXPECT_TRUE(h_.writer_running);
        EXPECT_GE(h_.duration_ns, 1'000'000'000u);
        EXPECT_LE(h_.since_ns, event.time_ns - 1'000'000'000u);
        EXPECT_NE(h_.diagnosis.find("nobody thawed it"), std::string::npos);
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
    }
}

TEST_F(BlockerCausesTest, ProcessesJoiningAFreezingCgroupAreCountedWithTheirWriter) {
    ScratchCgroup cg(freezer(), prefix_ + "/joins");
    std::vector<std::unique_ptr<SleeperProcess>> joiners;
    for (int i = 0; i < 5; ++i)
        joiners.push_back(std::make_unique<SleeperProcess>());
    HangReader reader;
    ThawGuard thaw_guard(cg);
    HangFuse fuse;
    reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s));
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
    for (auto &j : joiners)
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(j->pid()));
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeStall>(ev).empty(); }, 5s));
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 5s));
    auto episode = of_type<FreezeEpisode>(events_)[0].second;
    std::cout << "freezeprobe said: " << episode.diagnosis << "\n";
    EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
    EXPECT_EQ(episode.counts.joins, 5u);
    ASSERT_EQ(episode.joiners.size(), 1u);
    EXPECT_EQ(episode.joiners[0].pid, static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(episode.joiners[0].joins, 5u);
    EXPECT_NE(episode.diagnosis.find("5 processes joined while it was freezing"),
              std::string::npos);
    EXPECT_NE(episode.diagnosis.find("join storm"), std::string::npos);
    fuse.abort_connection();
}

} // namespace
} // namespace freezeprobe::testing
