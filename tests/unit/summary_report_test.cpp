// The summary report of docs/report.md: parses back, carries every key with the contract's
// type, lists cgroups in a stable order, and stays valid JSON for hostile cgroup names.
#include "summary_report.h"

#include "sample_events.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

namespace freezeprobe {
namespace {

using namespace samples;

using json = nlohmann::json;

json parse(const std::string &text) {
    EXPECT_TRUE(json::accept(text)) << text;
    return json::parse(text, nullptr, false);
}

void expect_histogram(const json &h, std::uint64_t count) {
    ASSERT_TRUE(h.is_object()) << h;
    EXPECT_EQ(h.size(), 4u) << h;
    for (const char *key : {"count", "p50", "p99", "max"})
        EXPECT_TRUE(h[key].is_number_unsigned()) << key;
    EXPECT_EQ(h["count"], count);
}

Aggregator sample() {
    Aggregator a;
    auto v1 = v1_container();
    a.add(Event{t_ns, v1, FreezeWrite{"FROZEN", 0, 1000, Task{1, 1, "runc"}}});
    a.add(Event{t_ns, v1, FreezeWrite{"FROZEN", 22, 2000, Task{1, 1, "runc"}}});
    a.add(
        Event{t_ns, v1, ProcsWrite{ControlFile::tasks, "7", 7, 3, 500, Task{2, 2, "runc"}, true}});
    FreezeEpisode frozen{EpisodeOutcome::frozen, 4'000'000, {}, Task{1, 1, "runc"}, {}, "done"};
    a.add(Event{t_ns, v1, frozen});
    FreezeEpisode aborted{EpisodeOutcome::aborted, 9'000'000, {},
                          Task{1, 1, "runc"},      {},        "Freeze was given up.\nSecond line."};
    a.add(Event{t_ns + 1, v1, aborted});
    a.add(Event{t_ns, v2_plain(), FreezeStall{600'000'000, {}, Task{3, 3, "sh"}, {}, "stalled"}});
    a.add(Event{t_ns, std::nullopt, Lost{3}});
    return a;
}

TEST(SummaryReport, HasEveryKeyWithItsType) {
    auto text = summary_report_json(sample(), run_info(5'000'000'000));
    EXPECT_NE(text.find("\n  \"version\""), std::string::npos) << "indent 2";
    EXPECT_TRUE(text.ends_with("}\n"));
    auto j = parse(text);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["version"], "0.1.0");
    EXPECT_EQ(j["attach_mode"], "tracepoint");
    EXPECT_EQ(j["kernel"], "6.1.0-18-amd64");
    EXPECT_EQ(j["started"], "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(j["ended"], "2023-11-14T22:13:25.123456789Z");
    EXPECT_EQ(j["events_lost"], 3);
    EXPECT_FALSE(j.contains("command"));
    EXPECT_FALSE(j.contains("command_exit"));
    // Contract order of the top-level keys.
    EXPECT_LT(text.find("\"version\""), text.find("\"attach_mode\""));
    EXPECT_LT(text.find("\"ended\""), text.find("\"events_lost\""));
    EXPECT_LT(text.find("\"events_lost\""), text.find("\"containers\""));

    ASSERT_TRUE(j["containers"].is_array());
    ASSERT_EQ(j["containers"].size(), 2u);
    auto &c = j["containers"][0]; // v1 sorts first
    EXPECT_EQ(c["cgroup"], *v1_container().path);
    EXPECT_TRUE(c["cgroup_id"].is_number_unsigned());
    EXPECT_EQ(c["cgroup_id"], 10);
    EXPECT_EQ(c["hierarchy"], "v1");
    EXPECT_EQ(c["controllers"], "freezer");
    EXPECT_EQ(c["container"], (json{{"id", container_id},
                                    {"runtime", "containerd"},
                                    {"pod_uid", pod_uid},
                                    {"qos", "burstable"},
                                    {"name", nullptr},
                                    {"pod_name", nullptr},
                                    {"namespace", nullptr},
                                    {"sandbox", nullptr}}));
    EXPECT_EQ(c["episodes"],
              (json{{"frozen", 1}, {"aborted", 1}, {"thawed", 0}, {"removed", 0}, {"open", 0}}));
    EXPECT_EQ(c["stalls"], 0);
    expect_histogram(c["freeze_latency_ns"], 1);
    EXPECT_EQ(c["freeze_latency_ns"]["max"], 4'000'000);
    ASSERT_TRUE(c["files"].is_object());
    EXPECT_EQ(c["files"].size(), 2u);
    auto &state = c["files"]["freezer.state"];
    EXPECT_EQ(state["count"], 2);
    EXPECT_EQ(state["errors"], (json{{"EINVAL", 1}}));
    expect_histogram(state["latency_ns"], 2);
    EXPECT_EQ(state["latency_ns"]["max"], 2000);
    expect_histogram(state["lock_wait_ns"], 0); // the samples come from tracepoint mode
    EXPECT_EQ(c["files"]["tasks"]["errors"], (json{{"ESRCH", 1}}));
    ASSERT_TRUE(c["failures"].is_array());
    ASSERT_EQ(c["failures"].size(), 3u);
    for (auto &f : c["failures"]) {
        EXPECT_EQ(f.size(), 3u);
        EXPECT_TRUE(std::regex_match(f["time"].get<std::string>(),
                                     std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")));
        EXPECT_TRUE(f["kind"].is_string());
        EXPECT_TRUE(f["message"].is_string());
    }
    EXPECT_EQ(c["failures"][2]["kind"], "aborted");
    EXPECT_EQ(c["failures"][2]["message"], "Freeze was given up.\nSecond line.");
    EXPECT_EQ(c["failures"][2]["time"], "2023-11-14T22:13:20.123456790Z");
    EXPECT_TRUE(c["failures_dropped"].is_number_unsigned());
    EXPECT_EQ(c["failures_dropped"], 0);

    auto &v2 = j["containers"][1];
    EXPECT_EQ(v2["hierarchy"], "v2");
    EXPECT_FALSE(v2.contains("controllers"));
    EXPECT_TRUE(v2.contains("container") && v2["container"].is_null());
    EXPECT_EQ(v2["stalls"], 1);
    EXPECT_EQ(v2["episodes"]["open"], 0);
    expect_histogram(v2["freeze_latency_ns"], 0);
    EXPECT_TRUE(v2["files"].is_object() && v2["files"].empty());
    EXPECT_EQ(v2["failures"][0]["kind"], "stall");
}

TEST(SummaryReport, CommandWhenGiven) {
    auto run = run_info(5'000'000'000);
    run.command = {"runc", "pause", "ctr"};
    run.command_exit = 1;
    auto j = parse(summary_report_json(Aggregator{}, run));
    EXPECT_EQ(j["command"], (json{"runc", "pause", "ctr"}));
    EXPECT_EQ(j["command_exit"], 1);
    EXPECT_TRUE(j["containers"].is_array() && j["containers"].empty());
    EXPECT_EQ(j["events_lost"], 0);
}

TEST(SummaryReport, SortedByHierarchyThenPath) {
    Aggregator a;
    auto write = [&](CgroupRef c) {
        a.add(Event{t_ns, std::move(c), FreezeWrite{"1", 0, 1, Task{}}});
    };
    write(v2_plain("/z", 1));
    write(v2_plain("/a", 2));
    auto unknown = v2_plain("", 3);
    unknown.path.reset();
    write(unknown);
    auto v1 = v1_container();
    v1.path = "/zz";
    write(v1);
    auto j = parse(summary_report_json(a, run_info(5'000'000'000)));
    std::vector<json> paths;
    for (auto &c : j["containers"])
        paths.push_back(c["cgroup"]);
    EXPECT_EQ(paths, (std::vector<json>{"/zz", "/a", "/z", nullptr}));
}

TEST(SummaryReport, HostileNamesStayValidJson) {
    const std::vector<std::string> names = {
        "/evil\nname",  "/quote\"d\\", "/ctl\x01\x1b[2J",
        "/bad\xff\xfe", "/trunc\xc3",  "/surrogate\xed\xa0\x80",
        "/\xc0\xaf",
    };
    Aggregator a;
    std::uint64_t id = 100;
    for (auto &name : names) {
        auto c = v2_plain(name, id++);
        a.add(Event{t_ns, c, FreezeWrite{name, 22, 1, Task{1, 1, name}}});
        a.add(Event{t_ns, c, FreezeEpisode{EpisodeOutcome::aborted, 1, {}, {}, {}, name}});
    }
    auto run = run_info(5'000'000'000);
    run.kernel = "6.1\xff";
    run.command = {"sh", "-c", "echo \"\xff\n\""};
    auto text = summary_report_json(a, run);
    auto j = parse(text);
    ASSERT_TRUE(j.is_object());
    ASSERT_EQ(j["containers"].size(), names.size());
    std::size_t valid_utf8_seen = 0;
    for (auto &c : j["containers"]) {
        ASSERT_TRUE(c["cgroup"].is_string());
        auto got = c["cgroup"].get<std::string>();
        // Valid UTF-8 names come back byte for byte; the others with U+FFFD.
        if (std::find(names.begin(), names.end(), got) != names.end())
            ++valid_utf8_seen;
        else
            EXPECT_NE(got.find("\xef\xbf\xbd"), std::string::npos) << got;
        EXPECT_EQ(c["failures"].size(), 2u);
    }
    EXPECT_EQ(valid_utf8_seen, 3u);
    // The one JSON writer pretty-prints exactly as nlohmann's dump(2) would the same document.
    EXPECT_EQ(nlohmann::ordered_json::parse(text).dump(2) + "\n", text);
}

TEST(SummaryReport, LaidOutAsNlohmannWould) {
    auto text = summary_report_json(sample(), run_info(5'000'000'000));
    EXPECT_EQ(nlohmann::ordered_json::parse(text).dump(2) + "\n", text);
    auto empty = summary_report_json(Aggregator{}, run_info(5'000'000'000));
    EXPECT_EQ(nlohmann::ordered_json::parse(empty).dump(2) + "\n", empty);
    EXPECT_NE(empty.find("\"containers\": []"), std::string::npos) << empty;
}

} // namespace
} // namespace freezeprobe
