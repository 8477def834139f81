// Fork storms during a freeze, on the real kernel: a process in a scratch cgroup forking
// short-lived children while the cgroup is being frozen, in the v1 freezer and in cgroup v2.
//
// A task of a freezing cgroup is frozen at its next return to user space, so on a current kernel
// a forker completes at most the fork it is in once the freeze starts; forks pile up in the gaps
// where a freezer's retry loop thaws (runc's v1 loop thaws for 10 ms every 50 tries). The first
// test keeps the freeze pending with a FUSE reader, thaws like runc does, releases the reader and
// checks that the episode completes with the forker's own count; the second runs runc's v1 loop
// itself against four forkers (fork, then vfork) and reports what the kernel did (the question on
// 5.10: does the loop ever freeze the cgroup?).
//
// Declaration order is cleanup order, reversed: FUSE released first, then the cgroup thawed, then
// the forkers killed and reaped by their PIDs, then the cgroups removed.
#include "probe_harness.h"

#include "hang_fuse.h"
#include "text_util.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <future>
#include <iostream>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

// A child in a cgroup that, once told to start, forks children that exit at once (auto-reaped)
// until told to stop, then writes how many forks succeeded to a pipe. With vfork, each child
// borrows its memory until it exits (no page tables copied: a storm even under the VM's TCG,
// where a fork costs tens of milliseconds). Killed (SIGKILL, by its PID) and reaped on
// destruction.
class ForkingChild {
  public:
    static constexpr const char *comm = "fp-forker";
    enum class How { fork, vfork };

    explicit ForkingChild(const ScratchCgroup &cg, How how = How::fork) {
        int control[2], result[2];
        if (::pipe2(control, O_CLOEXEC) != 0 || ::pipe2(result, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        procs_ = cg.file("cgroup.procs");
        auto procs = procs_;
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::system_error(errno, std::generic_category(), "fork");
        if (pid_ == 0)
            run(procs, control[0], result[1], how);
        ::close(control[0]);
        ::close(result[1]);
        control_ = control[1];
        result_ = result[0];
        // It is in the cgroup before the test goes on (its join is no join during a freeze).
        pollfd p{result_, POLLIN, 0};
        char ready = 0;
        if (::poll(&p, 1, 5000) != 1 || ::read(result_, &ready, 1) != 1 || ready != 'r')
            throw std::runtime_error("the forker did not join " + procs_);
    }
    ~ForkingChild() {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
        ::close(control_);
        ::close(result_);
        // Children it left (killed mid-storm) are reaped by init: wait for them to leave the
        // cgroup, so that it can be removed.
        eventually([&] { return trim(read_file(procs_)).empty(); }, 2s);
    }
    pid_t pid() const { return pid_; }
    void start() { tell('s'); }
    void stop() { tell('x'); }
    // Its fork count, once it has stopped (it must be thawed to answer), or nullopt.
    std::optional<std::uint64_t> forks(std::chrono::milliseconds timeout) {
        pollfd p{result_, POLLIN, 0};
        std::uint64_t n = 0;
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
            ::read(result_, &n, sizeof(n)) != sizeof(n))
            return std::nullopt;
        return n;
    }

  private:
    void tell(char c) {
        if (::write(control_, &c, 1) != 1)
            throw std::system_error(errno, std::generic_category(), "writing to the forker");
    }
    [[noreturn]] static void run(const std::string &procs, int control, int result, How how) {
        // Only its two pipes: no copy of a HangFuse connection or of the probe's descriptors.
        if (::dup2(control, 3) < 0 || ::dup2(result, 4) < 0)
            ::_exit(91);
        ::close_range(5, ~0U, 0);
        ::prctl(PR_SET_NAME, comm);
        ::signal(SIGCHLD, SIG_IGN); // children are reaped by the kernel
        if (write_control_file(procs, "0") != 0 || ::write(4, "r", 1) != 1)
            ::_exit(90);
        char c = 0;
        if (::read(3, &c, 1) != 1 || c != 's')
            ::_exit(92);
        ::fcntl(3, F_SETFL, O_NONBLOCK);
        std::uint64_t forks = 0;
        while (::read(3, &c, 1) != 1) {
            pid_t child = how == How::vfork ? ::vfork() : ::fork();
            if (child == 0)
                ::_exit(0);
            if (child > 0)
                ++forks;
        }
        // With SIGCHLD ignored, wait() returns once every child has gone (ECHILD).
        while (::wait(nullptr) > 0 || errno == EINTR) {
        }
        ::_exit(::write(4, &forks, sizeof(forks)) == sizeof(forks) ? 0 : 93);
    }

    pid_t pid_ = -1;
    std::string procs_;
    int control_ = -1;
    int result_ = -1;
};

void set_frozen(const ScratchCgroup &cg, bool freeze) {
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(freeze));
}

std::vector<std::pair<Event, FreezeEpisode>> episodes_of(const std::vector<Event> &events,
                                                         const std::string &path) {
    std::vector<std::pair<Event, FreezeEpisode>> out;
    for (auto &e : of_type<FreezeEpisode>(events))
        if (e.first.cgroup && e.first.cgroup->path == path)
            out.push_back(e);
    return out;
}

class ForkStormTest : public ProbeTest {
  protected:
    // The freeze held pending by a FUSE reader in cg while the test thaws it 20 times for
    // 10 ms, as runc's loop does; a second forker in an unrelated cgroup forks all along.
    void forks_are_counted(const Hierarchy &h) {
        ScratchCgroup cg(h, prefix_ + "/storm");
        ScratchCgroup calm(h, prefix_ + "/calm");
        ForkingChild outsider(calm), forker(cg);
        HangReader reader;
        ThawGuard thaw_guard(cg);
        HangFuse fuse;
        reader.start(fuse.file_path(), {cg.file("cgroup.procs")});
        ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s));

        set_frozen(cg, true);
        // The probe counts from the moment it has processed the freeze request.
        ASSERT_TRUE(wait_for([&](auto &ev) {
            for (auto &[e, w] : of_type<FreezeWrite>(ev))
                if (e.cgroup && e.cgroup->path == cg.path())
                    return true;
            return false;
        }));
        forker.start();
        outsider.start();
        for (int i = 0; i < 20; ++i) {
            set_frozen(cg, false);
            std::this_thread::sleep_for(10ms);
            set_frozen(cg, true);
            collect_for(20ms);
        }
        ASSERT_TRUE(episodes_of(events_, cg.path()).empty()) << "the FUSE reader holds it";
        fuse.answer_reads();
        ASSERT_TRUE(wait_for([&](auto &ev) { return !episodes_of(ev, cg.path()).empty(); }, 5s));
        auto [event, episode] = episodes_of(events_, cg.path())[0];
        std::cout << "freezeprobe said: " << episode.diagnosis << "\n";

        outsider.stop();
        auto outside_forks = outsider.forks(5s);
        forker.stop();
        set_frozen(cg, false);
        auto forks = forker.forks(5s);
        ASSERT_TRUE(forks && outside_forks) << "the forkers did not report";
        std::cout << fmt::format("v{}: the forker forked {} times, the outsider {}; the probe "
                                 "counted {} in {} ms\n",
                                 h.version, *forks, *outside_forks, episode.counts.forks,
                                 episode.duration_ns / 1'000'000);

        EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
        EXPECT_EQ(episode.counts.thaws, 20u);
        EXPECT_GT(*forks, 0u);
        EXPECT_GT(*outside_forks, 0u) << "forks elsewhere happened during the episode";
        // Every fork the forker made between the start (after the probe saw the request) and
        // the completion of the freeze (after which it made none), and nobody else's.
        EXPECT_EQ(episode.counts.forks, *forks);
        ASSERT_EQ(episode.forkers.size(), 1u);
        EXPECT_EQ(episode.forkers[0],
                  (Forker{static_cast<std::uint32_t>(forker.pid()), ForkingChild::comm, *forks}));
        EXPECT_NE(episode.diagnosis.find(
                      fmt::format("{} tasks were forked in it while it was pending, by {}[{}] ({})",
                                  *forks, ForkingChild::comm, forker.pid(), *forks)),
                  std::string::npos);
        // The stall reported the forks counted by then.
        auto stalls = of_type<FreezeStall>(events_);
        ASSERT_FALSE(stalls.empty());
        EXPECT_LE(stalls[0].second.counts.forks, episode.counts.forks);
        for (auto &f : stalls[0].second.forkers)
            EXPECT_EQ(f.pid, static_cast<std::uint32_t>(forker.pid()));
    }

    // runc's v1 loop (libcontainer/cgroups/fs/freezer.go): up to 1000 tries of writing FROZEN and
    // reading freezer.state, thawing for 10 ms every 50 tries; it gives up with THAWED.
    struct LoopResult {
        int tries = 0;
        bool froze = false;
    };
    static LoopResult runc_v1_loop(const ScratchCgroup &cg) {
        LoopResult r;
        for (r.tries = 1; r.tries <= 1000; ++r.tries) {
            if (r.tries % 50 == 0) {
                write_control_file_or_throw(cg.file("freezer.state"), "THAWED");
                std::this_thread::sleep_for(10ms);
            }
            write_control_file_or_throw(cg.file("freezer.state"), "FROZEN");
            if (trim(read_file(cg.file("freezer.state"))) == "FROZEN") {
                r.froze = true;
                return r;
            }
        }
        r.tries = 1000;
        write_control_file_or_throw(cg.file("freezer.state"), "THAWED");
        return r;
    }
    void runc_loop_against_four(ForkingChild::How how);
};

TEST_F(ForkStormTest, ForksIntoAFreezingV1CgroupAreCountedWithTheForker) {
    REQUIRE_V1_FREEZER(v1_);
    forks_are_counted(v1());
}

TEST_F(ForkStormTest, ForksIntoAFreezingV2CgroupAreCountedWithTheForker) {
    REQUIRE_V2(v2_);
    forks_are_counted(v2());
}

// What runc's own v1 loop meets against four forkers (fork, or the cheaper vfork): it freezes the
// cgroup or gives up (on this host's 6.18 it does either, from run to run). Either way the
// probe's count is bounded by what the forkers did, and an episode that never froze is called a
// fork storm.
void ForkStormTest::runc_loop_against_four(ForkingChild::How how) {
    ScratchCgroup cg(v1(), prefix_ + "/loop");
    std::vector<std::unique_ptr<ForkingChild>> forkers;
    for (int i = 0; i < 4; ++i)
        forkers.push_back(std::make_unique<ForkingChild>(cg, how));
    ThawGuard thaw_guard(cg);
    for (auto &f : forkers)
        f->start();
    std::this_thread::sleep_for(50ms); // the storm is on before runc comes
    // runc runs beside the probe, as it would on a node: the probe must read the freeze request
    // while the loop runs for the forks in its thaw windows to be counted.
    auto running = std::async(std::launch::async, [&] { return runc_v1_loop(cg); });
    ASSERT_TRUE(wait_for(
        [&](auto &ev) {
            return running.wait_for(0s) == std::future_status::ready &&
                   !episodes_of(ev, cg.path()).empty();
        },
        60s));
    auto loop = running.get();
    auto episode = episodes_of(events_, cg.path())[0].second;
    std::cout << "freezeprobe said: " << episode.diagnosis << "\n";
    for (auto &f : forkers)
        f->stop();
    write_control_file_or_throw(cg.file("freezer.state"), "THAWED");
    std::uint64_t total = 0;
    for (auto &f : forkers) {
        auto n = f->forks(5s);
        ASSERT_TRUE(n) << "a forker did not report";
        total += *n;
    }
    std::cout << fmt::format("{}: runc's v1 loop {} after {} tries in {} ms; the forkers forked {} "
                             "times in all; the probe counted {} forks, {} writes, {} thaws\n",
                             how == ForkingChild::How::fork ? "fork" : "vfork",
                             loop.froze ? "froze the cgroup" : "gave up", loop.tries,
                             episode.duration_ns / 1'000'000, total, episode.counts.forks,
                             episode.counts.writes, episode.counts.thaws);

    // The episode ends at the first FROZEN anyone reads (the probe's own look may come first).
    EXPECT_LE(episode.counts.writes, static_cast<std::uint32_t>(loop.tries));
    EXPECT_LE(episode.counts.forks, total);
    std::uint64_t listed = 0;
    for (auto &f : episode.forkers) {
        EXPECT_TRUE(std::any_of(forkers.begin(), forkers.end(),
                                [&](auto &mine) { return f.pid == std::uint32_t(mine->pid()); }))
            << f.comm << "[" << f.pid << "] is not one of the forkers";
        listed += f.forks;
    }
    EXPECT_EQ(listed, episode.counts.forks);
    // Forks are counted once the probe has read the first freeze request: here when the test
    // thread, competing with four forkers for the CPU, gets to poll it (it took over 10 ms on a
    // loaded host). After 5 thaw windows (50 ms and 250 tries) it has.
    if (episode.counts.thaws >= 5)
        EXPECT_GT(episode.counts.forks, 0u) << "the forkers ran in the loop's thaw windows";
    if (loop.froze) {
        EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
    } else {
        EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
        EXPECT_EQ(episode.counts.writes, 1000u);
        EXPECT_GT(episode.counts.forks, 0u);
        EXPECT_NE(episode.diagnosis.find("a fork storm"), std::string::npos);
    }
}

TEST_F(ForkStormTest, RuncV1LoopAgainstFourForkers) {
    REQUIRE_V1_FREEZER(v1_);
    runc_loop_against_four(ForkingChild::How::fork);
}

TEST_F(ForkStormTest, RuncV1LoopAgainstFourVforkers) {
    REQUIRE_V1_FREEZER(v1_);
    runc_loop_against_four(ForkingChild::How::vfork);
}

} // namespace
} // namespace freezeprobe::testing
