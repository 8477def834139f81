// The tracepoint mode's spare sys_enter/sys_exit programs (bpf/syscall_hooks.bpf.h), which the
// loader attaches where syscall tracepoints run their programs preemptibly (7.x) and the kernel
// skips a program on a CPU where a preempted task is inside it. Forced on here, with four threads
// writing at once: each write is reported at most once, and every write not reported is counted
// lost. Where the kernel does not skip (up to 6.x, the CI host) that means every write once and
// nothing lost: the spares do not double what the first copies do. The VM runner's 7.x guest
// shows them making up for the skips.
#include "kernel_functions.h"
#include "probe_harness.h"

#include <iostream>

namespace freezeprobe::testing {
namespace {

class SpareHooksTest : public CgroupTest {};

TEST_F(SpareHooksTest, EachWriteIsReportedOnceAndNothingIsLost) {
    SessionOptions options;
    options.probe.mode = AttachMode::tracepoint;
    options.probe.spare_syscall_hooks = true;
    options.filter = EventFilter{prefix_, ""};
    std::vector<Event> events;
    ProbeSession session(options, [&](const Event &e) { events.push_back(e); });

    const int threads = 4, writes_per_thread = 250;
    {
        ScratchCgroup cg(freezer(), prefix_ + "/spares"); // any cgroup.procs refuses "x"
        ASSERT_EQ(refused_writes_at_once(cg.file("cgroup.procs"), threads, writes_per_thread,
                                         [](int t) { return "x" + std::to_string(t); }),
                  0);
        for (int i = 0; i < 50 && events.size() < threads * writes_per_thread; ++i)
            session.poll(20);
    }
    session.finish();
    std::map<std::string, int> per_value;
    for (auto &e : events)
        if (auto *p = std::get_if<ProcsWrite>(&e.body)) {
            EXPECT_EQ(p->err, EINVAL);
            ++per_value[p->value];
        }
    std::uint64_t unreported = 0;
    for (int t = 0; t < threads; ++t) {
        int seen = per_value["x" + std::to_string(t)];
        EXPECT_LE(seen, writes_per_thread) << "thread " << t;
        unreported += writes_per_thread - std::min(seen, writes_per_thread);
    }
    auto lost = session.events_lost();
    std::cout << "SpareHooksTest: " << threads * writes_per_thread << " writes, " << unreported
              << " not reported, " << lost << " lost\n";
    EXPECT_LE(unreported, lost) << "writes went missing without being counted lost";
    if (btf_functions({preemptible_syscall_tracepoints_marker}).empty()) {
        EXPECT_EQ(unreported, 0u);
        EXPECT_EQ(lost, 0u);
    }
}

} // namespace
} // namespace freezeprobe::testing
