// Events the kernel could not queue are never lost silently. A 4 KiB ring buffer (the hidden
// --ring-buffer-kib option) and a burst of cgroup.procs writes force a loss; it must then show in
// every output: `lost` JSON lines, the report's events_lost, freezeprobe_events_lost_total in the
// metrics file, a warning on stderr, and exit code 3 under --fail-on lost. And each write is
// accounted for: reported, or counted as lost. The writes go to the freezer the layout has
// (CgroupTest::freezer()): cgroup.procs refuses "x" in every hierarchy.
#include "probe_harness.h"
#include "subprocess.h"

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class LostEvents : public CgroupTest {};

TEST_F(LostEvents, ForcedLossIsVisibleEverywhere) {
    ScratchDir dir("lost-events");
    auto report = dir / "report.json", metrics = dir / "freezeprobe.prom";
    RunningProcess probe({freezeprobe_binary(), "watch", "--events", "json", "--ring-buffer-kib",
                          "4", "--cgroup", prefix_, "--report", report.string(), "--metrics-file",
                          metrics.string(), "--fail-on", "lost"});
    ASSERT_TRUE(probe.wait_for_stderr("attached", 10'000)) << probe.err();

    // Failed writes are the cheapest for the kernel: one ~120-byte record each, as fast as the
    // loop can go, while the reader formats JSON.
    const int writes = 20'000;
    {
        ScratchCgroup cg(freezer(), prefix_ + "/flood");
        auto procs = cg.file("cgroup.procs");
        for (int i = 0; i < writes; ++i)
            ASSERT_EQ(write_control_file(procs, "x"), EINVAL);
    }
    auto r = probe.stop(SIGINT);

    std::uint64_t lost_lines = 0, reported = 0;
    for (auto &j : json_lines(r.out)) {
        if (j["type"] == "lost") {
            EXPECT_GT(j["count"].get<std::uint64_t>(), 0u);
            EXPECT_TRUE(j["cgroup"].is_null());
            lost_lines += j["count"].get<std::uint64_t>();
        } else if (j["type"] == "procs_write") {
            ++reported;
        }
    }
    ASSERT_GT(lost_lines, 0u) << "a 4 KiB ring buffer did not overflow: " << r.err;
    // The counter counts every record that did not fit, the node's other cgroup writes included.
    EXPECT_GE(reported + lost_lines, static_cast<std::uint64_t>(writes))
        << reported << " reported, " << lost_lines << " lost";
    std::cout << writes << " writes: " << reported << " reported, " << lost_lines << " lost\n";

    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("--fail-on conditions hit: lost (" + std::to_string(lost_lines) + ")"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("freezeprobe: warning: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" events lost so far"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(", " + std::to_string(lost_lines) + " lost\n"), std::string::npos)
        << r.err;

    auto j = nlohmann::json::parse(read_file(report.string()));
    EXPECT_EQ(j["events_lost"].get<std::uint64_t>(), lost_lines);
    auto text = read_file(metrics.string());
    EXPECT_NE(text.find("\nfreezeprobe_events_lost_total " + std::to_string(lost_lines) + "\n"),
              std::string::npos)
        << text;
}

} // namespace
} // namespace freezeprobe::testing
