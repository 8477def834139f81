// The live view's table: pending freezes first with their age, then the most recently active
// containers, each line cut to the terminal's width.
#include "live_view.h"

#include <gtest/gtest.h>

namespace freezeprobe {
namespace {

CgroupRef container_ref(std::uint64_t id, const std::string &container) {
    CgroupRef r;
    r.version = 1;
    r.controllers = "freezer";
    r.id = id;
    r.path = "/kubepods/burstable/pod1/" + container;
    r.container =
        Container{container, "containerd", "1f8d2a4c-0000-4000-8000-000000000001", "burstable"};
    return r;
}

Event write_event(const CgroupRef &ref, std::uint64_t time, int err) {
    return Event{time, ref, FreezeWrite{"FROZEN", err, 1000, Task{1, 1, "runc"}}};
}

TEST(LiveView, PendingFreezesComeFirstThenRecentContainers) {
    Aggregator a;
    auto older = container_ref(10, std::string(64, 'a'));
    auto newer = container_ref(20, std::string(64, 'b'));
    a.add(write_event(older, 1'000, 0));
    a.add(write_event(newer, 2'000, 22));
    std::vector<PendingEpisode> pending{
        {{1, 30}, container_ref(30, std::string(64, 'c')), 0, true}};
    auto lines = status_table(a, pending, 2'500'000'000, 10, 200);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_NE(lines[0].find("2 cgroups seen, 1 freezes pending, 0 events lost"), std::string::npos)
        << lines[0];
    EXPECT_TRUE(lines[1].starts_with("PENDING")) << lines[1];
    EXPECT_NE(lines[1].find("2.500s"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("cccccccccccc"), std::string::npos);
    EXPECT_NE(lines[2].find("bbbbbbbbbbbb"), std::string::npos) << "most recent first";
    EXPECT_NE(lines[2].find("1 writes, errors: 1xEINVAL"), std::string::npos) << lines[2];
    EXPECT_NE(lines[3].find("aaaaaaaaaaaa"), std::string::npos);
}

TEST(LiveView, RowsAndWidthAreBounded) {
    Aggregator a;
    for (std::uint64_t i = 0; i < 50; ++i)
        a.add(write_event(container_ref(i, std::string(64, 'd')), i, 0));
    auto lines = status_table(a, {}, 0, 5, 40);
    EXPECT_LE(lines.size(), 6u);
    for (auto &l : lines)
        EXPECT_LE(l.size(), 40u) << l;
}

} // namespace
} // namespace freezeprobe
