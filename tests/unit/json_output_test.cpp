// The JSON lines of docs/events.md: every line parses back, carries every contract key with
// the contract type, and stays one line whatever bytes the kernel or the cgroup tree handed us.
#include "json_output.h"
#include "summary_report.h"

#include "json_fields.h"
#include "sample_events.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

namespace freezeprobe {
namespace {

using json = nlohmann::json;

using samples::container_id;
const std::uint64_t t_ns = 1700000000ull * 1'000'000'000 + 123456789; // 2023-11-14T22:13:20Z

CgroupRef kube_cgroup() {
    return samples::v1_container("", 4242);
}

Event freeze_event(CgroupRef cgroup, FreezeWrite body) {
    return Event{t_ns, std::move(cgroup), std::move(body)};
}

Event procs_event(CgroupRef cgroup, ProcsWrite body) {
    return Event{t_ns, std::move(cgroup), std::move(body)};
}

FreezeWrite frozen_write(int err = 0) {
    return FreezeWrite{"FROZEN", err, 1500, Task{100, 101, "runc"}};
}

ProcsWrite procs_write() {
    return ProcsWrite{ControlFile::cgroup_procs,        "4321", 4321, 0, 900,
                      Task{200, 201, "runc:[1:CHILD]"}, true};
}

// Parses one output line, checking it is exactly one line of valid JSON.
json parse_line(const std::string &line) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_TRUE(json::accept(line)) << line;
    return json::parse(line, nullptr, false);
}

std::vector<std::string> keys_of(const json &j) {
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it)
        keys.push_back(it.key());
    return keys;
}

// Keys every line carries, in contract order (ordered_json keeps insertion order in the text).
void expect_common_keys(const std::string &line, const json &j, const std::string &type) {
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["type"], type);
    ASSERT_TRUE(j["time"].is_string());
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")))
        << j["time"];
    for (const char *key : {"hierarchy", "cgroup", "cgroup_id", "container"})
        EXPECT_TRUE(j.contains(key)) << key;
    auto at = [&](const char *key) { return line.find(std::string("\"") + key + "\":"); };
    EXPECT_EQ(at("type"), 1u);
    EXPECT_LT(at("type"), at("time"));
    EXPECT_LT(at("time"), at("hierarchy"));
    EXPECT_LT(at("hierarchy"), at("cgroup"));
    EXPECT_LT(at("cgroup"), at("cgroup_id"));
    EXPECT_LT(at("cgroup_id"), at("container"));
}

void expect_writer(const json &w, std::uint32_t pid, std::uint32_t tid, const std::string &comm) {
    ASSERT_TRUE(w.is_object());
    EXPECT_EQ(keys_of(w), (std::vector<std::string>{"comm", "pid", "tid"}));
    EXPECT_TRUE(w["pid"].is_number_unsigned());
    EXPECT_TRUE(w["tid"].is_number_unsigned());
    EXPECT_EQ(w["pid"], pid);
    EXPECT_EQ(w["tid"], tid);
    EXPECT_EQ(w["comm"], comm);
}

TEST(JsonOutput, FreezeWriteHasEveryContractKey) {
    auto line = to_json_line(freeze_event(kube_cgroup(), frozen_write()));
    auto j = parse_line(line);
    expect_common_keys(line, j, "freeze_write");
    EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(j["hierarchy"], "v1");
    EXPECT_EQ(j["cgroup"], *kube_cgroup().path);
    EXPECT_TRUE(j["cgroup_id"].is_number_unsigned());
    EXPECT_EQ(j["cgroup_id"], 4242);
    ASSERT_TRUE(j["container"].is_object());
    EXPECT_EQ(j["container"], (json{{"id", container_id},
                                    {"runtime", "containerd"},
                                    {"pod_uid", "4164b8ac-667a-484c-9c8c-a16ddc6c0554"},
                                    {"qos", "burstable"},
                                    {"name", nullptr},
                                    {"pod_name", nullptr},
                                    {"namespace", nullptr},
                                    {"sandbox", nullptr}}));
    EXPECT_EQ(j["value"], "FROZEN");
    EXPECT_TRUE(j["errno"].is_number_integer());
    EXPECT_EQ(j["errno"], 0);
    EXPECT_TRUE(j["error"].is_null());
    EXPECT_TRUE(j["latency_ns"].is_number_unsigned());
    EXPECT_EQ(j["latency_ns"], 1500);
    EXPECT_TRUE(j["lock_wait_ns"].is_null()) << "unknown in tracepoint mode";
    expect_writer(j["writer"], 100, 101, "runc");
    EXPECT_EQ(j.size(), 12u) << line;
}

TEST(JsonOutput, LockWaitIsANumberWhenTheModeMeasuredIt) {
    auto write = frozen_write();
    write.lock_wait_ns = 700;
    auto j = parse_line(to_json_line(freeze_event(kube_cgroup(), write)));
    EXPECT_EQ(j["lock_wait_ns"], 700);
}

TEST(JsonOutput, FreezeWriteError) {
    auto cgroup = kube_cgroup();
    cgroup.version = 2;
    auto j = parse_line(to_json_line(freeze_event(cgroup, frozen_write(22))));
    EXPECT_EQ(j["hierarchy"], "v2");
    EXPECT_EQ(j["errno"], 22);
    EXPECT_EQ(j["error"], "EINVAL");
}

TEST(JsonOutput, UnnamedErrnoStillHasAName) {
    auto j = parse_line(to_json_line(freeze_event(kube_cgroup(), frozen_write(4000))));
    EXPECT_EQ(j["errno"], 4000);
    EXPECT_EQ(j["error"], "E4000");
}

TEST(JsonOutput, ProcsWriteHasEveryContractKey) {
    auto line = to_json_line(procs_event(kube_cgroup(), procs_write()));
    auto j = parse_line(line);
    expect_common_keys(line, j, "procs_write");
    EXPECT_EQ(j["file"], "cgroup.procs");
    EXPECT_TRUE(j["target_pid"].is_number_integer());
    EXPECT_EQ(j["target_pid"], 4321);
    EXPECT_EQ(j["errno"], 0);
    EXPECT_TRUE(j["error"].is_null());
    EXPECT_EQ(j["latency_ns"], 900);
    expect_writer(j["writer"], 200, 201, "runc:[1:CHILD]");
    EXPECT_TRUE(j["during_freeze"].is_boolean());
    EXPECT_EQ(j["during_freeze"], true);
}

TEST(JsonOutput, ProcsWriteVariants) {
    struct Row {
        ControlFile file;
        const char *name;
        std::optional<std::int64_t> target;
        int err;
        const char *error;
    };
    const Row rows[] = {
        {ControlFile::cgroup_procs, "cgroup.procs", 1, 3, "ESRCH"},
        {ControlFile::tasks, "tasks", 77, 0, nullptr},
        {ControlFile::cgroup_threads, "cgroup.threads", std::nullopt, 22, "EINVAL"},
        {ControlFile::cgroup_procs, "cgroup.procs", std::nullopt, 34, "ERANGE"},
        {ControlFile::tasks, "tasks", 5, 19, "ENODEV"},
    };
    for (const auto &row : rows) {
        auto body = procs_write();
        body.file = row.file;
        body.target_pid = row.target;
        body.err = row.err;
        body.during_freeze = false;
        auto j = parse_line(to_json_line(procs_event(kube_cgroup(), body)));
        EXPECT_EQ(j["file"], row.name);
        if (row.target)
            EXPECT_EQ(j["target_pid"], *row.target);
        else
            EXPECT_TRUE(j.contains("target_pid") && j["target_pid"].is_null());
        EXPECT_EQ(j["errno"], row.err);
        if (row.error)
            EXPECT_EQ(j["error"], row.error);
        else
            EXPECT_TRUE(j["error"].is_null());
        EXPECT_EQ(j["during_freeze"], false);
    }
}

TEST(JsonOutput, NoContainerAndPartialContainer) {
    auto plain = kube_cgroup();
    plain.path = "/user.slice";
    plain.container.reset();
    auto j = parse_line(to_json_line(freeze_event(plain, frozen_write())));
    EXPECT_TRUE(j.contains("container") && j["container"].is_null());

    auto bare = kube_cgroup();
    bare.container =
        Container{container_id, std::nullopt, "4164b8ac-667a-484c-9c8c-a16ddc6c0554", std::nullopt};
    j = parse_line(to_json_line(freeze_event(bare, frozen_write())));
    EXPECT_EQ(j["container"]["id"], container_id);
    EXPECT_TRUE(j["container"].contains("runtime") && j["container"]["runtime"].is_null());
    EXPECT_TRUE(j["container"].contains("qos") && j["container"]["qos"].is_null());
}

TEST(JsonOutput, UnknownPathIsNull) {
    auto cgroup = kube_cgroup();
    cgroup.path.reset();
    cgroup.container.reset();
    auto j = parse_line(to_json_line(procs_event(cgroup, procs_write())));
    EXPECT_TRUE(j.contains("cgroup") && j["cgroup"].is_null());
    EXPECT_EQ(j["cgroup_id"], 4242); // the id is still known
    EXPECT_EQ(j["hierarchy"], "v1");
}

TEST(JsonOutput, Lost) {
    auto line = to_json_line(Event{0, std::nullopt, Lost{17}});
    auto j = parse_line(line);
    expect_common_keys(line, j, "lost");
    EXPECT_EQ(j["time"], "1970-01-01T00:00:00.000000000Z");
    for (const char *key : {"hierarchy", "cgroup", "cgroup_id", "container"})
        EXPECT_TRUE(j[key].is_null()) << key;
    EXPECT_TRUE(j["count"].is_number_unsigned());
    EXPECT_EQ(j["count"], 17);
    EXPECT_EQ(j.size(), 7u) << line;
}

TEST(JsonOutput, LargeNumbersStayExact) {
    auto cgroup = kube_cgroup();
    cgroup.id = 0xffffffffffffffffull;
    auto body = frozen_write();
    body.latency_ns = 0xfffffffffffffffeull;
    body.writer.pid = 0xffffffffu;
    auto j = parse_line(to_json_line(freeze_event(cgroup, body)));
    EXPECT_EQ(j["cgroup_id"].get<std::uint64_t>(), 0xffffffffffffffffull);
    EXPECT_EQ(j["latency_ns"].get<std::uint64_t>(), 0xfffffffffffffffeull);
    EXPECT_EQ(j["writer"]["pid"].get<std::uint32_t>(), 0xffffffffu);
}

// Names that are valid UTF-8 must come back byte for byte.
TEST(JsonOutput, HostileValidUtf8RoundTrips) {
    const std::vector<std::string> names = {
        "/evil\nname",
        "/quote\"d",
        "/back\\slash",
        "/tab\there\r",
        "/esc\x1b[2J",
        "/nul\x01\x02\x1f",
        "/del\x7f",
        "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80",
        "/line\xe2\x80\xa8sep", // U+2028: legal in JSON strings
        "/" + std::string(255, 'n'),
        "/" + std::string(255, 'a') + "/" + std::string(255, 'b') + "/" + std::string(255, 'c'),
    };
    for (const auto &name : names) {
        auto cgroup = kube_cgroup();
        cgroup.path = name;
        auto body = frozen_write();
        body.writer.comm = name.substr(0, 15);
        body.value = name.substr(0, 32);
        auto line = to_json_line(freeze_event(cgroup, body));
        auto j = parse_line(line);
        ASSERT_TRUE(j.is_object()) << testing::PrintToString(name);
        EXPECT_EQ(j["cgroup"], name);
        EXPECT_EQ(j["writer"]["comm"], name.substr(0, 15));
        EXPECT_EQ(j["value"], name.substr(0, 32));
    }
}

// Invalid UTF-8 cannot round-trip; it must still give one valid line that keeps the valid parts.
TEST(JsonOutput, InvalidUtf8StaysValidJson) {
    const std::vector<std::string> names = {
        "/bad\xff",           "/\xfe\xff\xff\xfe", "/trunc\xc3",        "/trunc\xe2\x82",
        "/trunc\xf0\x9f\x98", "/\xc3\x28mid",      "/overlong\xc0\xaf", "/surrogate\xed\xa0\x80",
        "/\x80lead",          "/mix\n\xff\"\\",
    };
    for (const auto &name : names) {
        auto cgroup = kube_cgroup();
        cgroup.path = name;
        cgroup.container.reset();
        auto body = procs_write();
        body.writer.comm = name;
        body.value = name;
        auto line = to_json_line(procs_event(cgroup, body));
        auto j = parse_line(line);
        ASSERT_TRUE(j.is_object()) << testing::PrintToString(name);
        ASSERT_TRUE(j["cgroup"].is_string());
        auto got = j["cgroup"].get<std::string>();
        EXPECT_TRUE(got.starts_with("/")) << got;
        EXPECT_NE(got.find("\xef\xbf\xbd"), std::string::npos) << "no U+FFFD in " << got;
        EXPECT_TRUE(j["writer"]["comm"].is_string());
        EXPECT_TRUE(j["value"].is_string());
    }
}

TEST(JsonOutput, EmptyStrings) {
    auto cgroup = kube_cgroup();
    cgroup.path = "";
    auto body = frozen_write();
    body.value = "";
    body.writer.comm = "";
    auto j = parse_line(to_json_line(freeze_event(cgroup, body)));
    EXPECT_EQ(j["cgroup"], "");
    EXPECT_EQ(j["value"], "");
    EXPECT_EQ(j["writer"]["comm"], "");
}

// The JSON lines and the reports write containers with the one writer (json_fields.h). Same text.
Container named_container() {
    Container c{container_id, "containerd", "1f8d2a4c-0000-4000-8000-00000000a1b2", "besteffort"};
    c.name = "nginx";
    c.pod_name = "web-\xff";
    c.namespace_name = "shop";
    c.sandbox = false;
    return c;
}

TEST(JsonOutput, ContainerNamesWhenKnown) {
    auto cgroup = kube_cgroup();
    cgroup.container = named_container();
    auto j = parse_line(to_json_line(freeze_event(cgroup, frozen_write())));
    EXPECT_EQ(j["container"]["name"], "nginx");
    EXPECT_EQ(j["container"]["pod_name"], "web-\xef\xbf\xbd");
    EXPECT_EQ(j["container"]["namespace"], "shop");
    EXPECT_EQ(j["container"]["sandbox"], false);
    cgroup.container->sandbox = true;
    cgroup.container->name.reset();
    j = parse_line(to_json_line(freeze_event(cgroup, frozen_write())));
    EXPECT_EQ(j["container"]["sandbox"], true);
    EXPECT_TRUE(j["container"]["name"].is_null());
}

TEST(JsonOutput, ContainerIsWrittenAsTheReportsWriteIt) {
    for (auto container :
         {Container{container_id, "containerd", "1f8d2a4c-0000-4000-8000-00000000a1b2",
                    "burstable"},
          Container{container_id, std::nullopt, std::nullopt, std::nullopt},
          Container{"\"\xff\n", "crio", std::nullopt, "besteffort"}, named_container()}) {
        auto cgroup = kube_cgroup();
        cgroup.container = container;
        auto event = freeze_event(cgroup, frozen_write());
        auto line = parse_line(to_json_line(event));
        Aggregator aggregates;
        aggregates.add(event);
        auto report = json::parse(summary_report_json(aggregates, RunInfo{}));
        EXPECT_EQ(report["containers"][0]["container"], line["container"]) << line;
    }
}

TEST(JsonOutput, StallBlockerCarriesItsCauseAndTheJoiners) {
    Blocker b{
        7,    7,           "cat", "D", "request_wait_answer", {"request_wait_answer+0xd6/0x290"},
        "/x", std::nullopt};
    b.cause = BlockerCause{CauseKind::fuse, "waiting for a FUSE daemon to answer",
                           CauseHolder{77, "hangd", samples::v1_container("", 1).container}, "0:51",
                           "echo 1 > /sys/fs/fuse/connections/51/abort"};
    Blocker unresolved{8, 8, "dd", "D", "", {}, std::nullopt, std::nullopt};
    unresolved.cause = BlockerCause{CauseKind::block_io, "waiting for block I/O", std::nullopt,
                                    std::nullopt, std::nullopt};
    FreezeStall stall{
        600'000'000, EpisodeCounts{3, 0, 2, 2}, Task{100, 101, "runc"}, {b, unresolved},
        "d",         {Joiner{300, "runc", 2}},  {Forker{90, "sh", 40}}};
    auto line = to_json_line(Event{t_ns, kube_cgroup(), stall});
    auto j = parse_line(line);
    expect_common_keys(line, j, "freeze_stall");
    auto &c = j["blockers"][0]["cause"];
    EXPECT_EQ(keys_of(c), (std::vector<std::string>{"detail", "device", "hint", "holder", "kind"}));
    EXPECT_EQ(c["kind"], "fuse");
    EXPECT_EQ(c["device"], "0:51");
    EXPECT_EQ(c["hint"], "echo 1 > /sys/fs/fuse/connections/51/abort");
    EXPECT_EQ(c["holder"]["pid"], 77);
    EXPECT_EQ(c["holder"]["comm"], "hangd");
    EXPECT_EQ(c["holder"]["container"]["id"], container_id);
    auto &u = j["blockers"][1]["cause"];
    EXPECT_EQ(u["kind"], "block_io");
    EXPECT_TRUE(u["holder"].is_null());
    EXPECT_TRUE(u["device"].is_null());
    EXPECT_TRUE(u["hint"].is_null());
    ASSERT_EQ(j["joiners"].size(), 1u);
    EXPECT_EQ(j["joiners"][0], (json{{"pid", 300}, {"comm", "runc"}, {"joins", 2}}));
    EXPECT_EQ(j["forks"], 0) << "the counts as given";
    ASSERT_EQ(j["forkers"].size(), 1u);
    EXPECT_EQ(j["forkers"][0], (json{{"pid", 90}, {"comm", "sh"}, {"forks", 40}}));
}

TEST(JsonOutput, FreezeHeld) {
    FreezeHeld h;
    h.since_ns = t_ns - 60'000'000'000;
    h.duration_ns = 60'000'000'000;
    h.frozen = true;
    h.writer = Task{100, 101, "runc"};
    h.writer_running = false;
    h.diagnosis = "held";
    auto line = to_json_line(Event{t_ns, kube_cgroup(), h});
    auto j = parse_line(line);
    expect_common_keys(line, j, "freeze_held");
    EXPECT_EQ(j["since"], "2023-11-14T22:12:20.123456789Z");
    EXPECT_EQ(j["duration_ns"], 60'000'000'000u);
    EXPECT_EQ(j["state"], "frozen");
    expect_writer(j["writer"], 100, 101, "runc");
    EXPECT_EQ(j["writer_running"], false);
    EXPECT_EQ(j["diagnosis"], "held");
}

} // namespace
} // namespace freezeprobe
