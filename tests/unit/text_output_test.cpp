// Human-readable event lines: one line each, whatever the names hold, and the facts a reader
// scans for (value, errno name, container, "during freeze").
#include "text_output.h"

#include "sample_events.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace freezeprobe {
namespace {

using samples::container_id;
const std::uint64_t t_ns = 1700000000ull * 1'000'000'000 + 5;

CgroupRef kube_cgroup() {
    return samples::v1_container("", 4242);
}

Event freeze_event(FreezeWrite body, CgroupRef cgroup = kube_cgroup()) {
    return Event{t_ns, std::move(cgroup), std::move(body)};
}

Event procs_event(ProcsWrite body, CgroupRef cgroup = kube_cgroup()) {
    return Event{t_ns, std::move(cgroup), std::move(body)};
}

ProcsWrite procs_write(bool during_freeze) {
    return ProcsWrite{ControlFile::cgroup_procs, "4321",       4321, 0, 900,
                      Task{200, 201, "runc"},    during_freeze};
}

bool one_line(const std::string &s) {
    return s.find('\n') == std::string::npos && s.find('\r') == std::string::npos;
}

bool contains(const std::string &s, const std::string &part) {
    return s.find(part) != std::string::npos;
}

// The layout of the line is for people and may change; these are the facts it must carry.
TEST(TextOutput, FreezeWrite) {
    auto line = to_text_line(freeze_event(FreezeWrite{"FROZEN", 0, 1500, Task{100, 101, "runc"}}));
    EXPECT_TRUE(one_line(line)) << line;
    EXPECT_TRUE(line.starts_with("2023-11-14T22:13:20.000000005Z ")) << line;
    EXPECT_TRUE(contains(line, "freeze_write")) << line;
    EXPECT_TRUE(contains(line, "\"FROZEN\"")) << line;
    EXPECT_TRUE(contains(line, "ok")) << line;
    EXPECT_TRUE(contains(line, "1.5us")) << line;
    EXPECT_TRUE(contains(line, "runc[100/101]")) << line;
    EXPECT_TRUE(contains(line, "v1 /kubepods/burstable/")) << line;
    EXPECT_TRUE(contains(line, container_id.substr(0, 12))) << line;
    EXPECT_TRUE(contains(line, "containerd")) << line;
    EXPECT_TRUE(contains(line, "4164b8ac-667a-484c-9c8c-a16ddc6c0554")) << line;
    EXPECT_FALSE(contains(line, "during freeze")) << line;
}

TEST(TextOutput, KubernetesNamesFirstWhenKnown) {
    auto cgroup = kube_cgroup();
    cgroup.container->namespace_name = "shop";
    cgroup.container->pod_name = "web-0";
    cgroup.container->name = "nginx\n";
    auto line =
        to_text_line(freeze_event(FreezeWrite{"FROZEN", 0, 1500, Task{100, 101, "runc"}}, cgroup));
    EXPECT_TRUE(one_line(line)) << line;
    EXPECT_TRUE(contains(line, "container shop/web-0/nginx\\n (" + container_id.substr(0, 12) +
                                   ", containerd, pod 4164b8ac-667a-484c-9c8c-a16ddc6c0554)"))
        << line;
    // Not known: the ID leads, as before.
    cgroup.container->pod_name.reset();
    line =
        to_text_line(freeze_event(FreezeWrite{"FROZEN", 0, 1500, Task{100, 101, "runc"}}, cgroup));
    EXPECT_TRUE(contains(line, "container " + container_id.substr(0, 12) + " (containerd")) << line;
    EXPECT_FALSE(contains(line, "shop")) << line;
}

TEST(TextOutput, ErrnoNames) {
    struct Row {
        int err;
        const char *name;
    };
    const Row rows[] = {
        {22, "EINVAL"}, {3, "ESRCH"}, {34, "ERANGE"}, {19, "ENODEV"}, {4000, "E4000"}};
    for (const auto &row : rows) {
        auto freeze = to_text_line(freeze_event(FreezeWrite{"FROZEN", row.err, 10, Task{}}));
        EXPECT_TRUE(contains(freeze, row.name)) << freeze;
        auto body = procs_write(false);
        body.err = row.err;
        auto procs = to_text_line(procs_event(body));
        EXPECT_TRUE(contains(procs, row.name)) << procs;
    }
}

TEST(TextOutput, ProcsWrite) {
    auto line = to_text_line(procs_event(procs_write(false)));
    EXPECT_TRUE(one_line(line)) << line;
    EXPECT_TRUE(contains(line, "procs_write")) << line;
    EXPECT_TRUE(contains(line, "cgroup.procs")) << line;
    EXPECT_TRUE(contains(line, "\"4321\"")) << line;
    EXPECT_TRUE(contains(line, "runc[200/201]")) << line;
    EXPECT_FALSE(contains(line, "during freeze")) << line;

    auto during = to_text_line(procs_event(procs_write(true)));
    EXPECT_TRUE(one_line(during)) << during;
    EXPECT_TRUE(contains(during, "during freeze")) << during;

    auto tasks = procs_write(false);
    tasks.file = ControlFile::tasks;
    EXPECT_TRUE(contains(to_text_line(procs_event(tasks)), " tasks "))
        << to_text_line(procs_event(tasks));
}

TEST(TextOutput, NoContainerAndUnknownPath) {
    auto plain = kube_cgroup();
    plain.version = 2;
    plain.path = "/user.slice";
    plain.container.reset();
    auto line = to_text_line(procs_event(procs_write(false), plain));
    EXPECT_TRUE(contains(line, "v2 /user.slice")) << line;
    EXPECT_FALSE(contains(line, "container")) << line;

    auto unknown = kube_cgroup();
    unknown.path.reset();
    unknown.container.reset();
    unknown.id = 987;
    line = to_text_line(procs_event(procs_write(false), unknown));
    EXPECT_TRUE(one_line(line)) << line;
    EXPECT_TRUE(contains(line, "987")) << line;
    EXPECT_TRUE(contains(line, "unknown")) << line;
}

TEST(TextOutput, Lost) {
    auto line = to_text_line(Event{0, std::nullopt, Lost{1234}});
    EXPECT_TRUE(one_line(line)) << line;
    EXPECT_TRUE(line.starts_with("1970-01-01T00:00:00.000000000Z")) << line;
    EXPECT_TRUE(contains(line, "lost 1234 ")) << line;
}

TEST(TextOutput, HostileNamesStayOnOneLine) {
    const std::vector<std::string> names = {
        "/evil\nname",  "/cr\rname", "/esc\x1b]0;title\x07", "/quote\"d",
        "/back\\slash", "/bad\xff",  "/caf\xc3\xa9",         "/" + std::string(255, 'n'),
    };
    for (const auto &name : names) {
        auto cgroup = kube_cgroup();
        cgroup.path = name;
        cgroup.container.reset();
        auto freeze = to_text_line(freeze_event(FreezeWrite{name, 0, 1, Task{1, 1, name}}, cgroup));
        auto body = procs_write(true);
        body.value = name;
        body.writer.comm = name;
        auto procs = to_text_line(procs_event(body, cgroup));
        for (const auto &line : {freeze, procs}) {
            EXPECT_TRUE(one_line(line)) << testing::PrintToString(line);
            for (unsigned char c : line)
                EXPECT_TRUE(c >= 0x20 && c < 0x7f)
                    << "raw byte " << int(c) << " in " << testing::PrintToString(line);
        }
    }
}

} // namespace
} // namespace freezeprobe
