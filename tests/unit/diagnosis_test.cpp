// The joins and forks part of the diagnosis: who made tasks appear in a freezing cgroup, and the
// storm verdict on an episode that did not freeze.
#include "diagnosis.h"

#include "sample_events.h"

#include <gtest/gtest.h>

namespace freezeprobe {
namespace {

FreezeEpisode episode(EpisodeOutcome outcome, EpisodeCounts counts, std::vector<Joiner> joiners,
                      std::vector<Forker> forkers) {
    FreezeEpisode e{outcome, 250'000'000, counts, Task{100, 100, "runc"}, {}, ""};
    e.joiners = std::move(joiners);
    e.forkers = std::move(forkers);
    return e;
}

TEST(Diagnosis, ForksAloneAreAForkStormWhenTheFreezeNeverCompleted) {
    auto e = episode(EpisodeOutcome::aborted, EpisodeCounts{1000, 21, 1000, 0, 4200}, {},
                     {Forker{90, "sh", 4000}, Forker{91, "make", 150}});
    auto text = episode_diagnosis(samples::v2_plain(), e);
    EXPECT_NE(text.find("; 4200 tasks were forked in it while it was freezing, by sh[90] (4000) "
                        "and make[91] (150), and others (50): a fork storm, so blockers named "
                        "below may be newcomers rather than the cause; no blocking task"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("joined"), std::string::npos) << text;
}

TEST(Diagnosis, JoinsAndForksTogether) {
    auto e = episode(EpisodeOutcome::open, EpisodeCounts{3, 0, 0, 2, 1}, {Joiner{300, "runc", 2}},
                     {Forker{90, "sh", 1}});
    auto text = episode_diagnosis(samples::v2_plain(), e);
    EXPECT_NE(text.find("; 2 processes joined while it was freezing, written by runc[300] (2); 1 "
                        "task was forked in it while it was freezing, by sh[90] (1): a join and "
                        "fork storm"),
              std::string::npos)
        << text;
}

TEST(Diagnosis, ACompletedFreezeNamesItsForksButNoStorm) {
    auto e =
        episode(EpisodeOutcome::frozen, EpisodeCounts{1, 0, 0, 0, 7}, {}, {Forker{90, "sh", 7}});
    auto text = episode_diagnosis(samples::v2_plain(), e);
    EXPECT_NE(text.find("completed in 250.00ms (1 freeze write); 7 tasks were forked in it while "
                        "it was pending, by sh[90] (7)."),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("storm"), std::string::npos) << text;
}

TEST(Diagnosis, OneForkIsNoStormAndAForkerlessCountStillShows) {
    auto one = episode(EpisodeOutcome::aborted, EpisodeCounts{1, 1, 0, 0, 1}, {}, {});
    auto text = episode_diagnosis(samples::v2_plain(), one);
    EXPECT_NE(text.find("; 1 task was forked in it while it was freezing;"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("storm"), std::string::npos) << text;
    auto none = episode(EpisodeOutcome::aborted, EpisodeCounts{1, 1, 0, 0, 0}, {}, {});
    EXPECT_EQ(episode_diagnosis(samples::v2_plain(), none).find("forked"), std::string::npos);
}

TEST(Diagnosis, StallCarriesForksLikeTheEpisode) {
    FreezeStall s{600'000'000, EpisodeCounts{5, 0, 5, 0, 12}, Task{100, 100, "runc"}, {}, "",
                  {},          {Forker{90, "sh", 12}}};
    auto text = stall_diagnosis(samples::v2_plain(), s);
    EXPECT_NE(text.find("12 tasks were forked in it while it was freezing, by sh[90] (12): a fork "
                        "storm"),
              std::string::npos)
        << text;
}

} // namespace
} // namespace freezeprobe
