// The id -> path cache under churn: paths learned from the mkdir tracepoint, kept after rmdir for
// late events, and forgotten in removal order once more than max_removed_kept cgroups have gone,
// so that thousands of short-lived cgroups do not grow it without bound.
#include "cgroup_resolver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

class CgroupResolverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // An empty directory as the mount point: a rescan on a miss finds only the root.
        mount_ = fs::path(::testing::TempDir()) / ("resolver-" + std::to_string(::getpid()));
        fs::create_directories(mount_);
        hierarchy_ = Hierarchy{2, 0, 77, mount_.string(), "rw", ""};
        resolver_.emplace(std::vector<Hierarchy>{hierarchy_});
    }
    void TearDown() override { fs::remove_all(mount_); }

    fs::path mount_;
    Hierarchy hierarchy_;
    std::optional<CgroupResolver> resolver_;
};

TEST_F(CgroupResolverTest, RemovedPathsAreKeptForLateEventsThenForgotten) {
    auto &r = *resolver_;
    const auto cap = CgroupResolver::max_removed_kept;
    r.learn(hierarchy_, 1000, "/first");
    r.forget_later(hierarchy_, 1000);
    EXPECT_EQ(r.path(hierarchy_, 1000), "/first") << "a late event still names it";
    for (std::uint64_t id = 1001; id < 1001 + cap; ++id) {
        r.learn(hierarchy_, id, "/c" + std::to_string(id));
        r.forget_later(hierarchy_, id);
    }
    EXPECT_EQ(r.path(hierarchy_, 1000 + cap), "/c" + std::to_string(1000 + cap));
    EXPECT_EQ(r.path(hierarchy_, 1000), std::nullopt) << "the oldest removed path is forgotten";
}

TEST_F(CgroupResolverTest, ThousandsOfShortLivedCgroupsStayBounded) {
    auto &r = *resolver_;
    const std::size_t live = 50;
    for (std::uint64_t id = 1; id <= live; ++id)
        r.learn(hierarchy_, id, "/live" + std::to_string(id));
    std::size_t most = 0;
    for (std::uint64_t id = 100; id < 100 + 20'000; ++id) {
        r.learn(hierarchy_, id, "/pod/short-lived-" + std::to_string(id));
        EXPECT_EQ(r.path(hierarchy_, id), "/pod/short-lived-" + std::to_string(id));
        r.forget_later(hierarchy_, id);
        most = std::max(most, r.known());
    }
    EXPECT_LE(most, live + CgroupResolver::max_removed_kept + 1);
    for (std::uint64_t id = 1; id <= live; ++id)
        EXPECT_EQ(r.path(hierarchy_, id), "/live" + std::to_string(id)) << "live ones are kept";
}

// Under steady churn only the last removed_ttl of removals is kept, however many that is.
TEST_F(CgroupResolverTest, RemovedPathsExpire) {
    auto &r = *resolver_;
    auto t0 = CgroupResolver::Clock::now();
    r.learn(hierarchy_, 1, "/old");
    r.forget_later(hierarchy_, 1, t0);
    r.learn(hierarchy_, 2, "/recent");
    r.forget_later(hierarchy_, 2, t0 + CgroupResolver::removed_ttl - std::chrono::seconds(1));
    EXPECT_EQ(r.path(hierarchy_, 1), "/old");
    std::size_t most = 0;
    for (std::uint64_t id = 100; id < 10'100; ++id) { // 100 removals a second
        r.learn(hierarchy_, id, "/short-lived");
        r.forget_later(hierarchy_, id,
                       t0 + CgroupResolver::removed_ttl +
                           std::chrono::milliseconds(10 * (id - 100)));
        most = std::max(most, r.known());
    }
    EXPECT_EQ(r.path(hierarchy_, 1), std::nullopt);
    EXPECT_EQ(r.path(hierarchy_, 2), std::nullopt);
    EXPECT_LE(most, 1001u + 1) << "10 s of removals at 100 a second, and the root";
}

// An rmdir seen twice (or for a cgroup never learned) must not make a live path go early.
TEST_F(CgroupResolverTest, RepeatedRemovalsDoNotEvictLiveCgroups) {
    auto &r = *resolver_;
    r.learn(hierarchy_, 5, "/live");
    for (std::size_t i = 0; i < 3 * CgroupResolver::max_removed_kept; ++i)
        r.forget_later(hierarchy_, 900'000 + i % 7);
    EXPECT_EQ(r.path(hierarchy_, 5), "/live");
}

} // namespace
} // namespace freezeprobe
