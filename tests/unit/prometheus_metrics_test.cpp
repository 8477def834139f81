// The Prometheus names of docs/report.md in text format 0.0.4: exact sample lines, HELP and
// TYPE for every family, cumulative histograms, label values that survive hostile cgroup names,
// and the whole text accepted by `promtool check metrics`; and the --metrics-file rewrite.
#include "prometheus_metrics.h"

#include "process.h"
#include "read_file.h"
#include "report_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

const std::string container_id = "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
const std::string pod_uid = "4164b8ac-667a-484c-9c8c-a16ddc6c0554";

CgroupRef container_cgroup(int version, const std::string &id, std::uint64_t cgroup_id = 42) {
    CgroupRef c;
    c.version = version;
    c.controllers = version == 1 ? "freezer" : "";
    c.path = "/kubepods/pod" + pod_uid + "/" + id;
    c.id = cgroup_id;
    c.container = Container{id, "containerd", pod_uid, "burstable"};
    return c;
}

Event episode(CgroupRef cgroup, EpisodeOutcome outcome, std::uint64_t duration_ns) {
    FreezeEpisode e;
    e.outcome = outcome;
    e.duration_ns = duration_ns;
    return Event{1, std::move(cgroup), e};
}

Event freeze_write(CgroupRef cgroup, int err, std::uint64_t latency_ns) {
    return Event{1, std::move(cgroup), FreezeWrite{"FROZEN", err, latency_ns, Task{1, 1, "runc"}}};
}

Event procs_write(CgroupRef cgroup, int err, std::uint64_t latency_ns) {
    ProcsWrite p;
    p.file = ControlFile::cgroup_procs;
    p.err = err;
    p.latency_ns = latency_ns;
    return Event{1, std::move(cgroup), p};
}

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

bool has_line(const std::string &text, const std::string &line) {
    auto lines = lines_of(text);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// The samples of one histogram series, in order: le -> cumulative count, then sum and count.
struct Histogram {
    std::vector<std::pair<std::string, std::uint64_t>> buckets;
    std::optional<double> sum;
    std::optional<std::uint64_t> count;
};

// labels: the series' labels before le, with a trailing comma ("file=\"x\",") or empty.
Histogram histogram_of(const std::string &text, const std::string &name,
                       const std::string &labels) {
    Histogram h;
    auto braces = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
    auto bucket_prefix = name + "_bucket{" + labels + "le=\"";
    for (auto &line : lines_of(text)) {
        if (line.starts_with(bucket_prefix)) {
            auto rest = line.substr(bucket_prefix.size());
            auto quote = rest.find("\"} ");
            h.buckets.emplace_back(rest.substr(0, quote), std::stoull(rest.substr(quote + 3)));
        } else if (line.starts_with(name + "_sum" + braces + " ")) {
            h.sum = std::stod(line.substr(line.rfind(' ') + 1));
        } else if (line.starts_with(name + "_count" + braces + " ")) {
            h.count = std::stoull(line.substr(line.rfind(' ') + 1));
        }
    }
    return h;
}

Aggregator sample_aggregator() {
    Aggregator a;
    auto v2 = container_cgroup(2, container_id);
    a.add(freeze_write(v2, 0, 1'500));         // 1.5 us
    a.add(freeze_write(v2, EBUSY, 3'000'000)); // 3 ms
    a.add(procs_write(v2, 0, 200));            // below 1 us: folds into the first bucket
    a.add(episode(v2, EpisodeOutcome::frozen, 1'500));
    a.add(episode(v2, EpisodeOutcome::frozen, 2'000'000'000'000)); // 2000 s: only +Inf
    a.add(episode(v2, EpisodeOutcome::aborted, 5'000'000'000));
    CgroupRef plain;
    plain.version = 1;
    plain.controllers = "freezer";
    plain.path = "/system.slice/cron.service";
    plain.id = 7;
    a.add(episode(plain, EpisodeOutcome::thawed, 10));
    a.add(Event{1, std::nullopt, Lost{7}});
    return a;
}

const char *const families[][2] = {
    {"freezeprobe_freeze_episodes_total", "counter"},
    {"freezeprobe_freeze_duration_seconds", "histogram"},
    {"freezeprobe_cgroup_writes_total", "counter"},
    {"freezeprobe_cgroup_write_latency_seconds", "histogram"},
    {"freezeprobe_cgroup_write_lock_wait_seconds", "histogram"},
    {"freezeprobe_freeze_held_total", "counter"},
    {"freezeprobe_events_lost_total", "counter"},
    {"freezeprobe_freeze_stalls_total", "counter"},
};

TEST(PrometheusMetrics, EmptyAggregatorHasEveryFamilyAndTheUnlabelledSeries) {
    auto text = prometheus_text(Aggregator{});
    for (auto &[name, type] : families) {
        EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
        EXPECT_TRUE(has_line(text, std::string("# TYPE ") + name + " " + type)) << name;
    }
    EXPECT_TRUE(has_line(text, "freezeprobe_events_lost_total 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_held_total 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_stalls_total 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_bucket{le=\"+Inf\"} 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_sum 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_count 0"));
    EXPECT_EQ(text.find("freezeprobe_freeze_episodes_total{"), std::string::npos);
    EXPECT_EQ(text.find("freezeprobe_cgroup_writes_total{"), std::string::npos);
    EXPECT_EQ(text.find("freezeprobe_cgroup_write_latency_seconds_bucket"), std::string::npos);
    EXPECT_EQ(text.back(), '\n');
}

TEST(PrometheusMetrics, LockWaitHistogramHasOnlyWritesWhoseWaitIsKnown) {
    Aggregator a;
    auto v2 = container_cgroup(2, container_id);
    auto measured = procs_write(v2, 0, 5'000);
    std::get<ProcsWrite>(measured.body).lock_wait_ns = 3'000;
    a.add(measured);
    a.add(procs_write(v2, 0, 9'000)); // tracepoint mode: wait unknown
    auto text = prometheus_text(a);
    auto h =
        histogram_of(text, "freezeprobe_cgroup_write_lock_wait_seconds", "file=\"cgroup.procs\",");
    ASSERT_TRUE(h.count);
    EXPECT_EQ(*h.count, 1u);
    EXPECT_DOUBLE_EQ(*h.sum, 3e-6);
    EXPECT_EQ(
        *histogram_of(text, "freezeprobe_cgroup_write_latency_seconds", "file=\"cgroup.procs\",")
             .count,
        2u);
}

TEST(PrometheusMetrics, ExactSampleLines) {
    auto text = prometheus_text(sample_aggregator());
    EXPECT_TRUE(has_line(text, "# TYPE freezeprobe_freeze_episodes_total counter"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy="
                               "\"v2\",container_id=\"" +
                                   container_id + "\",pod_uid=\"" + pod_uid +
                                   "\",namespace=\"\",pod=\"\",container=\"\"} 2"))
        << text;
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_episodes_total{outcome=\"thawed\",hierarchy="
                               "\"v1\",container_id=\"\",pod_uid=\"\",namespace=\"\",pod=\"\","
                               "container=\"\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_cgroup_writes_total{file=\"cgroup.freeze\","
                               "error=\"none\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_cgroup_writes_total{file=\"cgroup.freeze\","
                               "error=\"EBUSY\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_cgroup_writes_total{file=\"cgroup.procs\","
                               "error=\"none\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_bucket{le=\"0.000001023\"} 0"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_bucket{le=\"0.000002047\"} 1"));
    EXPECT_TRUE(
        has_line(text, "freezeprobe_freeze_duration_seconds_bucket{le=\"1099.511627775\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_bucket{le=\"+Inf\"} 2"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_sum 2000.0000015"));
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_duration_seconds_count 2"));
    EXPECT_TRUE(has_line(text, "freezeprobe_cgroup_write_latency_seconds_bucket{file=\"cgroup."
                               "procs\",le=\"0.000001023\"} 1"));
    EXPECT_TRUE(has_line(text, "freezeprobe_cgroup_write_latency_seconds_sum{file=\"cgroup."
                               "freeze\"} 0.0030015"));
    EXPECT_TRUE(has_line(text, "freezeprobe_events_lost_total 7"));
}

TEST(PrometheusMetrics, KubernetesNamesAreLabels) {
    Aggregator a;
    auto c = container_cgroup(2, container_id);
    c.container->namespace_name = "shop";
    c.container->pod_name = "web-0";
    c.container->name = "ng\"inx";
    a.add(episode(c, EpisodeOutcome::aborted, 1'000));
    auto text = prometheus_text(a);
    EXPECT_TRUE(
        has_line(text, "freezeprobe_freeze_episodes_total{outcome=\"aborted\",hierarchy="
                       "\"v2\",container_id=\"" +
                           container_id + "\",pod_uid=\"" + pod_uid +
                           "\",namespace=\"shop\",pod=\"web-0\",container=\"ng\\\"inx\"} 1"))
        << text;
}

TEST(PrometheusMetrics, HistogramsAreCumulativeMonotoneAndEndInCount) {
    auto text = prometheus_text(sample_aggregator());
    struct Series {
        std::string name, labels;
        std::uint64_t count;
    } series[] = {
        {"freezeprobe_freeze_duration_seconds", "", 2},
        {"freezeprobe_cgroup_write_latency_seconds", "file=\"cgroup.freeze\",", 2},
        {"freezeprobe_cgroup_write_latency_seconds", "file=\"cgroup.procs\",", 1},
    };
    for (auto &s : series) {
        SCOPED_TRACE(s.name + "{" + s.labels + "}");
        auto h = histogram_of(text, s.name, s.labels);
        ASSERT_EQ(h.buckets.size(), 32u); // 2^10 - 1 ns .. 2^40 - 1 ns, and +Inf
        EXPECT_EQ(h.buckets.front().first, "0.000001023");
        EXPECT_EQ(h.buckets.back().first, "+Inf");
        double previous_le = 0;
        std::uint64_t previous = 0;
        for (std::size_t i = 0; i + 1 < h.buckets.size(); ++i) {
            double le = std::stod(h.buckets[i].first);
            EXPECT_GT(le, previous_le) << h.buckets[i].first;
            EXPECT_GE(h.buckets[i].second, previous) << h.buckets[i].first;
            previous_le = le;
            previous = h.buckets[i].second;
        }
        EXPECT_GE(h.buckets.back().second, previous);
        ASSERT_TRUE(h.count);
        EXPECT_EQ(h.buckets.back().second, *h.count);
        EXPECT_EQ(*h.count, s.count);
        EXPECT_TRUE(h.sum);
    }
}

TEST(PrometheusMetrics, SecondsAreExactDecimals) {
    EXPECT_EQ(seconds_text(0), "0");
    EXPECT_EQ(seconds_text(1), "0.000000001");
    EXPECT_EQ(seconds_text(1023), "0.000001023");
    EXPECT_EQ(seconds_text(1'500'000'000), "1.5");
    EXPECT_EQ(seconds_text(2'000'000'000), "2");
    EXPECT_EQ(seconds_text((std::uint64_t{1} << 40) - 1), "1099.511627775");
    EXPECT_EQ(seconds_text(UINT64_MAX), "18446744073.709551615");
}

TEST(PrometheusMetrics, LabelValuesAreEscapedAndValidUtf8) {
    struct Case {
        std::string in, out;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a\\b", "a\\\\b"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"two\nlines", "two\\nlines"},
        {"tab\tcr\r", "tab\tcr\r"}, // only \\, \" and \n are escaped
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"},
        {"\xff", "\xef\xbf\xbd"},                                 // not a lead byte
        {"a\x80z", "a\xef\xbf\xbdz"},                             // stray continuation
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 // overlong '/'
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, // surrogate
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, // > U+10FFFF
        {"\xe2\x82", "\xef\xbf\xbd"},       // truncated at the end: one per sequence (utf8.h)
        {"\xe2\x82\"", "\xef\xbf\xbd\\\""}, // truncated before a quote
    };
    for (auto &c : cases)
        EXPECT_EQ(prometheus_label_value(c.in), c.out) << c.in;
}

Aggregator hostile_aggregator() {
    Aggregator a;
    // The resolver only passes hex ids, but the exposition must not depend on that.
    for (std::string id :
         {std::string("evil\"} 1\nfreezeprobe_events_lost_total 99\n#"), std::string("a\\"),
          std::string("\xff\xfe"), std::string("\xfe\xff"), std::string("caf\xc3\xa9")}) {
        auto c = container_cgroup(2, id, std::hash<std::string>{}(id));
        c.container->pod_uid = "pod\"\n\\";
        a.add(episode(c, EpisodeOutcome::frozen, 1'000'000));
    }
    return a;
}

TEST(PrometheusMetrics, HostileLabelValuesStayInsideTheirQuotes) {
    auto text = prometheus_text(hostile_aggregator());
    EXPECT_TRUE(has_line(text, "freezeprobe_events_lost_total 0"));
    EXPECT_FALSE(has_line(text, "freezeprobe_events_lost_total 99"));
    EXPECT_TRUE(has_line(text,
                         "freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy=\"v2\","
                         "container_id=\"evil\\\"} 1\\nfreezeprobe_events_lost_total 99\\n#\","
                         "pod_uid=\"pod\\\"\\n\\\\\",namespace=\"\",pod=\"\",container=\"\"} 1"))
        << text;
    // "\xff\xfe" and "\xfe\xff" both read U+FFFD U+FFFD: one series, not a duplicate.
    EXPECT_TRUE(has_line(text, "freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy="
                               "\"v2\",container_id=\"\xef\xbf\xbd\xef\xbf\xbd\",pod_uid=\"pod\\\""
                               "\\n\\\\\",namespace=\"\",pod=\"\",container=\"\"} 2"));
    for (auto &line : lines_of(text))
        EXPECT_TRUE(line.starts_with("# ") || line.starts_with("freezeprobe_")) << line;
}

// promtool, from the Debian package prometheus (tools/setup.sh installs it).
std::optional<std::string> find_promtool() {
    const char *path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        auto candidate = (dir.empty() ? "." : dir) + "/promtool";
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

bool running_in_ci() {
    const char *ci = std::getenv("CI");
    return ci && std::string(ci) != "" && std::string(ci) != "false" && std::string(ci) != "0";
}

// Runs `promtool check metrics` with text on stdin; (exit code, stdout + stderr).
std::pair<int, std::string> promtool_check(const std::string &promtool, const std::string &text) {
    auto dir = std::filesystem::temp_directory_path() /
               ("freezeprobe-promtool-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto in_path = (dir / "in.prom").string(), out_path = (dir / "out.txt").string();
    std::ofstream(in_path, std::ios::binary) << text;
    // stdin from the file; stdout and stderr together in one file.
    auto r = run_process({promtool, "check", "metrics"}, std::chrono::seconds(60),
                         {ChildStdio::null, false, {}, [&in_path, &out_path] {
                              int in = ::open(in_path.c_str(), O_RDONLY);
                              int out =
                                  ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
                              ::dup2(in, 0);
                              ::dup2(out, 1);
                              ::dup2(out, 2);
                          }});
    std::string output = read_file(out_path);
    std::filesystem::remove_all(dir);
    return {r.exit_code, output};
}

TEST(PrometheusMetrics, PromtoolAcceptsTheText) {
    auto promtool = find_promtool();
    if (!promtool) {
        if (running_in_ci())
            FAIL() << "promtool is not installed (tools/setup.sh installs package prometheus)";
        GTEST_SKIP() << "promtool is not installed (tools/setup.sh installs package prometheus)";
    }
    for (auto text : {prometheus_text(Aggregator{}), prometheus_text(sample_aggregator()),
                      prometheus_text(hostile_aggregator())}) {
        auto [code, output] = promtool_check(*promtool, text);
        EXPECT_EQ(code, 0) << output << "\n--- input:\n" << text;
        EXPECT_EQ(output, "") << "--- input:\n" << text;
    }
}

TEST(MetricsFile, WatchRewritesItAtomicallyWithMode0644WhateverTheUmask) {
    auto dir = std::filesystem::temp_directory_path() /
               ("freezeprobe-metrics-file-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = (dir / "freezeprobe.prom").string();
    auto old_umask = ::umask(077);
    write_file_atomically(path, "old\n", 0644);
    write_file_atomically(path, prometheus_text(sample_aggregator()), 0644);
    ::umask(old_umask);
    EXPECT_EQ(read_file(path), prometheus_text(sample_aggregator()));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    std::vector<std::string> names; // no temporary file left behind
    for (auto &entry : std::filesystem::directory_iterator(dir))
        names.push_back(entry.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"freezeprobe.prom"});
    try {
        write_file_atomically((dir / "missing" / "x.prom").string(), "x", 0644);
        ADD_FAILURE() << "no exception";
    } catch (const std::system_error &e) {
        EXPECT_NE(std::string(e.what()).find((dir / "missing" / "x.prom").string()),
                  std::string::npos)
            << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(PrometheusMetrics, HeldFreezesAreCountedAndAreFailures) {
    Aggregator a;
    FreezeHeld held;
    held.diagnosis = "held for 1m";
    a.add(Event{1, container_cgroup(1, std::string(64, 'a')), held});
    a.add(Event{2, container_cgroup(1, std::string(64, 'a')), held});
    EXPECT_EQ(a.held(), 2u);
    EXPECT_TRUE(has_line(prometheus_text(a), "freezeprobe_freeze_held_total 2"));
    auto &s = a.cgroups().begin()->second;
    EXPECT_EQ(s.held, 2u);
    ASSERT_EQ(s.failures.size(), 2u);
    EXPECT_EQ(s.failures[0].kind, "held");
    EXPECT_EQ(s.failures[0].message, "held for 1m");
}

} // namespace
} // namespace freezeprobe
