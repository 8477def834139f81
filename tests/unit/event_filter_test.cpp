// --cgroup and --container: which events reach the sinks.
#include "event_filter.h"

#include <gtest/gtest.h>

#include <string>

namespace freezeprobe {
namespace {

const std::string id_a = "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
const std::string id_b = "a09834fd8a50cf02cbe408e82e3ff497e64233cbd087c8f3c0544efb2773c765";

Event write_in(std::optional<std::string> path, std::optional<std::string> container_id) {
    CgroupRef c;
    c.version = 2;
    c.id = 99;
    c.path = std::move(path);
    if (container_id)
        c.container = Container{*container_id, "containerd", std::nullopt, std::nullopt};
    return Event{1, c, FreezeWrite{"1", 0, 10, Task{1, 1, "runc"}}};
}

const Event lost{1, std::nullopt, Lost{3}};

TEST(EventFilter, EmptyFilterPassesEverything) {
    EventFilter f;
    EXPECT_TRUE(f.matches(write_in("/a", std::nullopt)));
    EXPECT_TRUE(f.matches(write_in(std::nullopt, std::nullopt)));
    EXPECT_TRUE(f.matches(write_in("/kubepods/x", id_a)));
    EXPECT_TRUE(f.matches(lost));
}

TEST(EventFilter, CgroupPrefix) {
    struct Row {
        const char *prefix;
        const char *path;
        bool want;
    };
    const Row rows[] = {
        {"/kubepods", "/kubepods", true},
        {"/kubepods", "/kubepods/burstable/pod1/abc", true},
        {"/kubepods/", "/kubepods/burstable", true},
        {"/kubepods", "/kubepods.slice/kubepods-pod1.slice", false},
        {"/kubepods", "/system.slice", false},
        {"/kubepods/burstable", "/kubepods/besteffort/pod1", false},
        {"/", "/anything", true},
    };
    for (const auto &row : rows) {
        EventFilter f{row.prefix, ""};
        EXPECT_EQ(f.matches(write_in(row.path, std::nullopt)), row.want)
            << row.prefix << " vs " << row.path;
    }
}

TEST(EventFilter, UnknownPathFailsACgroupFilter) {
    EventFilter f{"/kubepods", ""};
    EXPECT_FALSE(f.matches(write_in(std::nullopt, std::nullopt)));
}

TEST(EventFilter, ContainerPrefix) {
    EXPECT_TRUE((EventFilter{"", "1c5b"}).matches(write_in("/x", id_a)));
    EXPECT_TRUE((EventFilter{"", id_a}).matches(write_in("/x", id_a)));
    EXPECT_FALSE((EventFilter{"", "1c5b"}).matches(write_in("/x", id_b)));
    EXPECT_FALSE((EventFilter{"", "1c5b"}).matches(write_in("/x", std::nullopt)));
    EXPECT_FALSE((EventFilter{"", "1c5b"}).matches(write_in(std::nullopt, std::nullopt)));
    EXPECT_FALSE((EventFilter{"", id_a + "0"}).matches(write_in("/x", id_a)));
}

TEST(EventFilter, BothFiltersMustMatch) {
    EventFilter f{"/kubepods", "a098"};
    EXPECT_TRUE(f.matches(write_in("/kubepods/pod1/" + id_b, id_b)));
    EXPECT_FALSE(f.matches(write_in("/kubepods/pod1/" + id_a, id_a)));
    EXPECT_FALSE(f.matches(write_in("/docker/" + id_b, id_b)));
}

TEST(EventFilter, LostAlwaysPasses) {
    EXPECT_TRUE((EventFilter{"/kubepods", ""}).matches(lost));
    EXPECT_TRUE((EventFilter{"", "1c5b"}).matches(lost));
    EXPECT_TRUE((EventFilter{"/kubepods", "1c5b"}).matches(lost));
}

Event named(std::optional<std::string> ns, std::optional<std::string> pod) {
    auto e = write_in("/kubepods/x", id_a);
    e.cgroup->container->namespace_name = std::move(ns);
    e.cgroup->container->pod_name = std::move(pod);
    return e;
}

TEST(EventFilter, NamespaceAndPodAreWholeNames) {
    EventFilter by_ns{"", "", "shop", ""};
    EXPECT_TRUE(by_ns.matches(named("shop", "web-0")));
    EXPECT_FALSE(by_ns.matches(named("shopping", "web-0")));
    EXPECT_FALSE(by_ns.matches(named("sho", "web-0")));
    EXPECT_FALSE(by_ns.matches(named(std::nullopt, "web-0"))) << "unknown never matches";
    EXPECT_FALSE(by_ns.matches(write_in("/x", std::nullopt)));
    EXPECT_TRUE(by_ns.matches(lost));
    EventFilter by_pod{"", "", "", "web-0"};
    EXPECT_TRUE(by_pod.matches(named("shop", "web-0")));
    EXPECT_FALSE(by_pod.matches(named("shop", "web-1")));
    EXPECT_FALSE(by_pod.matches(named("shop", std::nullopt)));
    EventFilter both{"", "", "shop", "web-0"};
    EXPECT_TRUE(both.matches(named("shop", "web-0")));
    EXPECT_FALSE(both.matches(named("jobs", "web-0")));
}

} // namespace
} // namespace freezeprobe
