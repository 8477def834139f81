// The writer's parent: parsed from /proc/PID/stat, looked up once per writer, and shown in the
// JSON lines (writer.parent), the text lines and the diagnoses only when known.
#include "writer_parent.h"

#include "diagnosis.h"
#include "json_output.h"
#include "sample_events.h"
#include "text_output.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace freezeprobe {
namespace {

TEST(WriterParent, ParsesThePpidAfterTheLastParenthesis) {
    EXPECT_EQ(parse_stat_ppid("812 (runc) S 790 812 790 0 -1 4194560"), 790u);
    EXPECT_EQ(parse_stat_ppid("9 (a) b) (c) R 1 9 9"), 1u) << "a comm with ') ' in it";
    EXPECT_EQ(parse_stat_ppid("1 (systemd) S 0 1 1"), 0u);
    EXPECT_FALSE(parse_stat_ppid(""));
    EXPECT_FALSE(parse_stat_ppid("12 (x) S"));
    EXPECT_FALSE(parse_stat_ppid("12 (x) S abc 1"));
    EXPECT_FALSE(parse_stat_ppid("12 x S 3 4"));
}

TEST(WriterParent, ThisProcessHasItsRealParent) {
    WriterParents parents;
    std::ifstream own("/proc/self/comm");
    std::string self;
    std::getline(own, self);
    auto pid = static_cast<std::uint32_t>(getpid());
    EXPECT_FALSE(parents.of(pid, pid, self + "x")) << "another comm: not this process";
    auto p = parents.of(pid, pid, self);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->pid, static_cast<std::uint32_t>(getppid()));
    std::ifstream comm("/proc/" + std::to_string(getppid()) + "/comm");
    std::string name;
    std::getline(comm, name);
    EXPECT_EQ(p->comm, name);
}

TEST(WriterParent, CachedPerThreadAndCommFromAFakeProc) {
    auto root =
        std::filesystem::temp_directory_path() / ("writer_parent_test_" + std::to_string(getpid()));
    auto put = [&](const std::string &dir, const std::string &stat) {
        std::filesystem::create_directories(root / dir);
        std::ofstream(root / dir / "stat") << stat;
    };
    put("500/task/501", "501 (runc) S 40 500 40 0");
    put("40", "40 (containerd-shim) S 1 40 40 0");
    put("41", "41 (kubelet) S 1 41 41 0");
    WriterParents parents(root.string());
    auto first = parents.of(500, 501, "runc");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->pid, 40u);
    EXPECT_EQ(first->comm, "containerd-shim");
    put("500/task/501", "501 (sh) S 41 500 41 0");
    EXPECT_EQ(parents.of(500, 501, "runc")->pid, 40u) << "the same writer: from the cache";
    EXPECT_EQ(parents.of(500, 501, "sh")->comm, "kubelet") << "another comm: read again";
    EXPECT_FALSE(parents.of(500, 502, "runc")) << "a writer that exited has no parent";
    put("600/task/600", "600 (bash) S 41 600 41 0");
    EXPECT_FALSE(parents.of(600, 600, "runc")) << "the pid is another process now";
    std::filesystem::remove_all(root);
}

TEST(WriterParent, ShownOnlyWhenKnown) {
    auto cgroup = samples::v1_container("freezer", 7);
    FreezeEpisode episode{EpisodeOutcome::aborted, 300'000'000, {}, Task{812, 812, "runc"}, {}, ""};
    EXPECT_EQ(episode_diagnosis(cgroup, episode).find("(from "), std::string::npos);
    auto line = nlohmann::json::parse(to_json_line(Event{1, cgroup, episode}));
    EXPECT_FALSE(line["writer"].contains("parent"));

    episode.writer.parent = TaskParent{790, "containerd-shim"};
    EXPECT_NE(episode_diagnosis(cgroup, episode)
                  .find("requested by runc[812] (from containerd-shim[790])"),
              std::string::npos);
    line = nlohmann::json::parse(to_json_line(Event{1, cgroup, episode}));
    EXPECT_EQ(line["writer"]["parent"],
              (nlohmann::json{{"pid", 790}, {"comm", "containerd-shim"}}));
    FreezeWrite write{"FROZEN", 0, 1500, episode.writer, std::nullopt};
    EXPECT_NE(
        to_text_line(Event{1, cgroup, write}).find("runc[812/812] (from containerd-shim[790])"),
        std::string::npos);
}

} // namespace
} // namespace freezeprobe
