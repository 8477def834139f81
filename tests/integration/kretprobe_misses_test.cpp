// kprobe mode: a kretprobe sees the return of at most maxactive calls in flight at once; the
// returns it misses are writes never reported, so they must be counted as lost. The probe asks the
// kernel for the most it allows (4096); here the hidden --kretprobe-maxactive 1 and threads that
// queue on cgroup_mutex inside their cgroup.procs writes put more calls in flight than that.
// Kernels without kprobes (the CI host) refuse the mode: the test then checks the reason, and the
// VM runner (tools/vm/run.sh, FREEZEPROBE_EXPECT_KPROBES=1) proves the rest on stock kernels.
#include "probe_harness.h"
#include "subprocess.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

std::string freezeprobe_kprobe_events() {
    for (const char *dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        std::ifstream in(std::string(dir) + "/kprobe_events");
        if (!in)
            continue;
        std::string line, ours;
        while (std::getline(in, line))
            if (line.find(":freezeprobe/") != std::string::npos)
                ours += line + "\n";
        return ours;
    }
    return "";
}

TEST(KretprobeMisses, ReturnsMissedBeyondMaxactiveAreCountedAsLost) {
    REQUIRE_PRIVILEGES();
    auto hierarchies = discover_hierarchies();
    auto writable = freezable(hierarchies); // any hierarchy's cgroup.procs refuses "x"
    ASSERT_FALSE(writable.empty());
    auto prefix = unique_prefix();
    RunningProcess probe({freezeprobe_binary(), "watch", "--attach", "kprobe",
                          "--kretprobe-maxactive", "1", "--events", "json", "--cgroup", prefix});
    if (!probe.wait_for_stderr("attached", 10'000)) {
        auto r = probe.wait(10'000);
        ASSERT_EQ(std::getenv("FREEZEPROBE_EXPECT_KPROBES"), nullptr)
            << "kprobe mode must attach here: " << r.err;
        EXPECT_NE(r.err.find("attach mode kprobe is not possible here: "), std::string::npos)
            << r.err;
        std::cout << "kprobe mode is refused here, with its reason; the VM runner tests the "
                     "misses\n";
        return;
    }

    const int threads = 8, writes_per_thread = 300;
    {
        ScratchCgroup cg(*writable.front(), prefix + "/misses");
        // Each write takes cgroup_mutex before it parses the pid: EINVAL, after waiting for the
        // others inside kernfs_fop_write_iter.
        ASSERT_EQ(refused_writes_at_once(cg.file("cgroup.procs"), threads, writes_per_thread,
                                         [](int) { return std::string("x"); }),
                  0);
    }
    std::this_thread::sleep_for(500ms);
    auto r = probe.stop(SIGINT);

    std::uint64_t lost = 0, reported = 0;
    for (auto &j : json_lines(r.out)) {
        if (j["type"] == "lost")
            lost += j["count"].get<std::uint64_t>();
        else if (j["type"] == "procs_write")
            ++reported;
    }
    const std::uint64_t writes = threads * writes_per_thread;
    std::cout << writes << " writes by " << threads << " threads, maxactive 1: " << reported
              << " reported, " << lost << " lost\n";
    EXPECT_LT(reported, writes) << "no return was missed: the writes never overlapped";
    EXPECT_GT(lost, 0u) << r.err;
    // Every write is reported or counted (a miss on cgroup_kn_lock_live counts too).
    EXPECT_GE(reported + lost, writes) << reported << " reported, " << lost << " lost";
    // The kretprobe events went with the probe.
    EXPECT_EQ(freezeprobe_kprobe_events(), "");
}

} // namespace
} // namespace freezeprobe::testing
