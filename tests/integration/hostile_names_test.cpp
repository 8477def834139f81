// Cgroup names and writer names are hostile input: anyone who may create a cgroup (a container
// runtime, a delegated user) picks its name, and any process picks its comm. Real cgroups with
// quotes, backslashes, control characters, XML and Prometheus syntax, 255-byte and non-UTF-8 names
// in each freezer the layout has (the v1 freezer, cgroup v2, or both: freezable()), written to by
// a process with a hostile comm, must come out as valid JSON lines, a valid report, a metrics file
// promtool accepts, JUnit xmllint accepts, and text lines that carry no control character.
#include "probe_harness.h"
#include "subprocess.h"
#include "text_util.h"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool valid_utf8(std::string_view s) {
    try {
        (void)nlohmann::json(std::string(s)).dump();
        return true;
    } catch (const nlohmann::json::type_error &) {
        return false;
    }
}

// Names a cgroup directory may have (the kernel refuses '/' and, since 5.x, '\n').
std::vector<std::string> hostile_names() {
    std::vector<std::string> names = {
        "quote\"d",
        "back\\slash",
        "tab\there",
        "esc\x1b[31mred",
        "del\x7f",
        "xml<&>'\"",
        "prom\"} 1 # {x=\"",
        "bad\xff\xfeutf8",
        "trunc\xc3",
        "caf\xc3\xa9-\xe2\x9c\x93",
        std::string(255, 'n'),
        std::string(252, 'u') + "\xc3\xa9", // 254 bytes, ending in a two-byte character
    };
    return names;
}

// A child with a hostile comm writes to each cgroup: a freeze and a thaw (an aborted episode:
// nothing reads the state in between), a join of itself and a bad write (EINVAL).
void write_as_hostile_process(const std::vector<const ScratchCgroup *> &cgroups) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::prctl(PR_SET_NAME, "w\n\"\\\x1b\xff<&", 0, 0, 0);
        int failures = 0;
        for (auto *cg : cgroups) {
            auto state = cg->freeze_file();
            failures += write_control_file(state, cg->freeze_value(true)) != 0;
            failures += write_control_file(state, cg->freeze_value(false)) != 0;
            failures += write_control_file(cg->file("cgroup.procs"), "0") != 0;
            failures += write_control_file(cg->file("cgroup.procs"), "\xff\"\n<") != EINVAL;
        }
        ::_exit(failures);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "writes that should have worked failed";
}

TEST(HostileNames, RealCgroupsComeOutValidInEveryFormat) {
    REQUIRE_PRIVILEGES();
    ScratchDir dir("hostile");
    auto hierarchies = discover_hierarchies();
    auto freezers = freezable(hierarchies);
    ASSERT_FALSE(freezers.empty()) << "neither a v1 freezer nor a cgroup v2 hierarchy is mounted";
    auto prefix = unique_prefix();

    // Does this kernel refuse newlines in cgroup names? (Then none can reach the outputs.) The
    // check is cgroup_mkdir()'s, the same in v1 and v2: asked of cgroup v2 where it is mounted.
    auto newline_dir = freezers.back()->mount_point + prefix + "-nl\nname";
    bool newline_allowed = ::mkdir(newline_dir.c_str(), 0755) == 0;
    if (newline_allowed)
        ::rmdir(newline_dir.c_str());
    std::cout << "newline in a cgroup name: " << (newline_allowed ? "allowed" : "refused") << "\n";
    auto names = hostile_names();
    if (newline_allowed)
        names.push_back("new\nline");

    auto report = dir / "report.json", junit = dir / "junit.xml", metrics = dir / "m.prom";
    RunningProcess json({freezeprobe_binary(), "--events", "json", "--cgroup", prefix, "--report",
                         report.string(), "--junit", junit.string(), "--metrics-file",
                         metrics.string()});
    RunningProcess text({freezeprobe_binary(), "--events", "text", "--cgroup", prefix});
    ASSERT_TRUE(json.wait_for_stderr("attached", 10'000)) << json.err();
    ASSERT_TRUE(text.wait_for_stderr("attached", 10'000)) << text.err();

    std::set<std::string> paths;
    {
        // The prefix directories are owned here, made first and removed last: a vector destroys
        // its elements first to last, so the first cgroup, had it made the prefix, would have
        // tried to remove it while its siblings were still there (and left it behind).
        std::vector<std::unique_ptr<ScratchCgroup>> tops;
        for (auto *h : freezers)
            tops.push_back(std::make_unique<ScratchCgroup>(*h, prefix));
        std::vector<std::unique_ptr<ScratchCgroup>> cgroups;
        std::vector<const ScratchCgroup *> raw;
        for (auto *h : freezers)
            for (auto &name : names) {
                cgroups.push_back(std::make_unique<ScratchCgroup>(*h, prefix + "/" + name));
                raw.push_back(cgroups.back().get());
                paths.insert(cgroups.back()->path());
            }
        write_as_hostile_process(raw);
        std::this_thread::sleep_for(600ms); // past the 250 ms grace: the episodes are aborted
    }
    std::this_thread::sleep_for(300ms);
    auto rj = json.stop(SIGINT);
    auto rt = text.stop(SIGINT);
    ASSERT_EQ(rj.exit_code, 0) << rj.err;
    ASSERT_EQ(rt.exit_code, 0) << rt.err;

    // JSON lines: each one parses; valid UTF-8 names come back byte for byte.
    std::vector<nlohmann::json> lines;
    ASSERT_NO_THROW(lines = json_lines(rj.out)) << rj.out;
    std::map<std::string, int> per_type;
    std::set<std::string> seen_paths;
    for (auto &j : lines) {
        per_type[j["type"]]++;
        if (j["cgroup"].is_string())
            seen_paths.insert(j["cgroup"]);
        if (j.contains("writer"))
            EXPECT_EQ(j["writer"]["comm"], "w\n\"\\\x1b\xef\xbf\xbd<&") << j.dump();
    }
    const int n = static_cast<int>(freezers.size() * names.size()); // each name in each freezer
    EXPECT_EQ(per_type["freeze_write"], 2 * n) << rj.out;
    EXPECT_EQ(per_type["procs_write"], 2 * n) << rj.out;
    std::map<std::string, int> outcomes;
    for (auto &j : lines)
        if (j["type"] == "freeze_episode")
            ++outcomes[j["outcome"]];
    // Each freeze and thaw is one episode: aborted, or (if the probe read the empty cgroup as
    // FROZEN between the two writes) frozen then thawed.
    EXPECT_EQ(outcomes["aborted"] + outcomes["thawed"], n) << rj.out;
    EXPECT_EQ(outcomes["frozen"], outcomes["thawed"]) << rj.out;
    for (auto &p : paths)
        if (valid_utf8(p))
            EXPECT_TRUE(seen_paths.contains(p)) << nlohmann::json(p).dump() << " not in the output";
    EXPECT_EQ(seen_paths.size(), paths.size()) << "each cgroup keeps a name of its own";

    // The report.
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(read_file(report.string())));
    EXPECT_EQ(j["containers"].size(), static_cast<std::size_t>(n));

    // Prometheus and JUnit, checked by the tools that read them.
    auto prom = run_process({"/usr/bin/promtool", "check", "metrics"}, [&] {
        int fd = ::open(metrics.c_str(), O_RDONLY);
        ::dup2(fd, 0);
    });
    EXPECT_EQ(prom.exit_code, 0) << prom.out << prom.err;
    auto xml = run_process({"/usr/bin/xmllint", "--noout", junit.string()});
    EXPECT_EQ(xml.exit_code, 0) << xml.err;
    auto junit_text = read_file(junit.string());
    EXPECT_EQ(std::count(junit_text.begin(), junit_text.end(), '\x1b'), 0);
    std::size_t testcases = 0;
    const std::string per_cgroup = "<testcase classname=\"freezeprobe.v"; // not the run's own
    for (auto at = junit_text.find(per_cgroup); at != std::string::npos;
         at = junit_text.find(per_cgroup, at + 1))
        ++testcases;
    EXPECT_EQ(testcases, static_cast<std::size_t>(n)) << junit_text;

    // Text lines: no control byte but the line ends, one line per event at most.
    int text_lines = 0;
    for (unsigned char c : rt.out) {
        if (c == '\n')
            ++text_lines;
        else
            EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "control byte " << int(c) << " in text output";
    }
    EXPECT_GE(text_lines, 3 * n) << rt.out;
}

// Written values are parsed as the kernel parses them, odd bytes included: its isspace() counts
// 0xa0, so "1\xa0" freezes a v2 cgroup and "FROZEN\xa0" a v1 one (found by the written-value
// fuzzer, checked here against the kernel). Each in the freezers the layout has: the v1 case
// needs the v1 freezer, the v2 case cgroup v2.
class WrittenBytesTest : public ProbeTest {};

TEST_F(WrittenBytesTest, NoBreakSpaceIsTrimmedLikeTheKernelDoes) {
    std::vector<std::unique_ptr<ScratchCgroup>> cgroups;
    std::vector<std::unique_ptr<ThawGuard>> thaws;
    for (const Hierarchy *h : freezable()) {
        cgroups.push_back(std::make_unique<ScratchCgroup>(*h, prefix_ + "/nbsp"));
        thaws.push_back(std::make_unique<ThawGuard>(*cgroups.back()));
    }
    for (auto &cg : cgroups) {
        std::string frozen = cg->freeze_value(true);
        write_control_file_or_throw(cg->freeze_file(), frozen + "\xa0");
        ASSERT_EQ(trim(read_file(cg->freeze_file())), frozen) << "the kernel froze it";
    }
    ASSERT_TRUE(wait_for([&](const std::vector<Event> &e) {
        return of_type<FreezeEpisode>(e).size() >= cgroups.size();
    })) << events_.size();
    auto writes = of_type<FreezeWrite>(events_);
    ASSERT_EQ(writes.size(), cgroups.size());
    for (std::size_t i = 0; i < cgroups.size(); ++i)
        EXPECT_EQ(writes[i].second.value, cgroups[i]->freeze_value(true));
    for (auto &[e, episode] : of_type<FreezeEpisode>(events_))
        EXPECT_EQ(episode.outcome, EpisodeOutcome::frozen);
}

} // namespace
} // namespace freezeprobe::testing
