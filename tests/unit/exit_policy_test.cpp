// How watch ends (app/exit_policy): which --fail-on conditions were hit, and the exit code and
// message from a run's end, in the documented order (docs/report.md).
#include "cli.h"
#include "exit_policy.h"

#include <gtest/gtest.h>

namespace freezeprobe {
namespace {

Aggregator with_losses_and_an_abort() {
    Aggregator a;
    Event lost;
    lost.body = Lost{7};
    a.add(lost);
    Event episode; // an aborted episode counts where it has a cgroup
    episode.cgroup = CgroupRef{2, "", "/pod", 7, std::nullopt};
    episode.body = FreezeEpisode{EpisodeOutcome::aborted};
    a.add(episode);
    return a;
}

TEST(ExitPolicy, FailedConditionsAreOnlyTheAskedOnesThatHappened) {
    auto a = with_losses_and_an_abort();
    EXPECT_EQ(failed_conditions({}, a), std::vector<std::string>{});
    EXPECT_EQ(failed_conditions({"stall", "write-error"}, a), std::vector<std::string>{});
    EXPECT_EQ(failed_conditions({"lost", "aborted", "stall"}, a),
              (std::vector<std::string>{"aborted (1)", "lost (7)"}));
}

TEST(ExitPolicy, CleanRunIsZeroWithNothingToSay) {
    auto d = decide_exit({});
    EXPECT_EQ(d.code, exit_ok);
    EXPECT_EQ(d.message, "");
}

TEST(ExitPolicy, OrderOfTheReasons) {
    RunEnd end;
    end.reports_ok = false;
    EXPECT_EQ(decide_exit(end).code, exit_cannot_run) << "a report that could not be written";

    end.fail_on_hit = {"lost (3)"};
    auto d = decide_exit(end);
    EXPECT_EQ(d.code, exit_fail_on) << "--fail-on before a failed report";
    EXPECT_EQ(d.message, "--fail-on conditions hit: lost (3)");

    end.command = "e2e.test";
    end.command_exit = 5;
    d = decide_exit(end);
    EXPECT_EQ(d.code, 5) << "the command's own failure first";
    EXPECT_EQ(d.message, "e2e.test exited with 5");

    end.command_exit = 0;
    EXPECT_EQ(decide_exit(end).code, exit_fail_on) << "a command that passed leaves --fail-on";

    end.command_exit.reset();
    d = decide_exit(end);
    EXPECT_EQ(d.code, exit_cannot_run);
    EXPECT_EQ(d.message, "e2e.test still runs; killing it");

    end.output_ok = false;
    end.output_errno = EPIPE;
    d = decide_exit(end);
    EXPECT_EQ(d.code, exit_cannot_run);
    EXPECT_EQ(d.message, "stopped: writing events to stdout failed: Broken pipe");
}

} // namespace
} // namespace freezeprobe
