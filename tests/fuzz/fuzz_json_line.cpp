// Whole events built from fuzzer bytes, the way EventBuilder builds them (hostile cgroup paths,
// comms, written bytes, wchans, kernel stacks, any timestamps and counts), through every output:
//   JSON line: one line that parses, with the type, and valid UTF-8 names back byte for byte;
//   text line: no control byte;
//   summary report: parses;
//   JUnit: only XML characters;
//   Prometheus: every sample line is name{label="value",...} value with correctly escaped values.
#include "aggregator.h"
#include "container_resolver.h"
#include "diagnosis.h"
#include "fuzz_checks.h"
#include "json_output.h"
#include "junit_report.h"
#include "prometheus_metrics.h"
#include "summary_report.h"
#include "text_output.h"
#include "written_value.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

using namespace freezeprobe;
using namespace freezeprobe::fuzz;

namespace {

struct Builder {
    FuzzedDataProvider &p;

    std::string text(std::size_t max) { return p.ConsumeRandomLengthString(max); }
    Task task() {
        return Task{p.ConsumeIntegral<std::uint32_t>(), p.ConsumeIntegral<std::uint32_t>(),
                    text(15)};
    }
    EpisodeCounts counts() {
        return EpisodeCounts{p.ConsumeIntegral<std::uint32_t>(), p.ConsumeIntegral<std::uint32_t>(),
                             p.ConsumeIntegral<std::uint32_t>(),
                             p.ConsumeIntegral<std::uint32_t>()};
    }
    CgroupRef cgroup() {
        CgroupRef c;
        c.version = p.ConsumeBool() ? 1 : 2;
        if (c.version == 1)
            c.controllers = text(24);
        if (p.ConsumeBool())
            c.path = text(4096);
        c.id = p.ConsumeIntegral<std::uint64_t>();
        if (c.path)
            c.container = resolve_container(*c.path);
        return c;
    }
    std::vector<Blocker> blockers() {
        std::vector<Blocker> out(p.ConsumeIntegralInRange<int>(0, 3));
        for (auto &b : out) {
            b.pid = p.ConsumeIntegral<std::uint32_t>();
            b.tid = p.ConsumeIntegral<std::uint32_t>();
            b.comm = text(15);
            // The state letter comes from the kernel's /proc/PID/stat.
            b.state = std::string(1, "RSDTtXZPIKWxn"[p.ConsumeIntegralInRange<int>(0, 12)]);
            b.wchan = text(64);
            for (int n = p.ConsumeIntegralInRange<int>(0, 4); n > 0; --n)
                b.stack.push_back(text(80));
            if (p.ConsumeBool())
                b.cgroup = text(256);
            if (b.cgroup)
                b.container = resolve_container(*b.cgroup);
        }
        return out;
    }
    Event event() {
        Event e;
        e.time_ns = p.ConsumeIntegral<std::uint64_t>();
        int type = p.ConsumeIntegralInRange<int>(0, 4);
        if (type != 2)
            e.cgroup = cgroup();
        int err = p.ConsumeIntegralInRange<int>(0, 200);
        std::uint64_t ns = p.ConsumeIntegral<std::uint64_t>();
        switch (type) {
        case 0:
            e.body = FreezeWrite{written_value(text(32)), err, ns, task()};
            break;
        case 1: {
            auto raw = text(32);
            auto file =
                std::array{ControlFile::cgroup_procs, ControlFile::tasks,
                           ControlFile::cgroup_threads}[p.ConsumeIntegralInRange<int>(0, 2)];
            e.body = ProcsWrite{file,   written_value(raw), written_pid(raw), err, ns,
                                task(), p.ConsumeBool()};
            break;
        }
        case 2:
            e.body = Lost{ns};
            break;
        case 3: {
            FreezeStall s{ns, counts(), task(), blockers(), ""};
            s.diagnosis = stall_diagnosis(*e.cgroup, s);
            e.body = std::move(s);
            break;
        }
        default: {
            FreezeEpisode ep{static_cast<EpisodeOutcome>(p.ConsumeIntegralInRange<int>(0, 4)),
                             ns,
                             counts(),
                             task(),
                             blockers(),
                             ""};
            ep.diagnosis = episode_diagnosis(*e.cgroup, ep);
            e.body = std::move(ep);
        }
        }
        return e;
    }
};

void check_json_line(const Event &e) {
    auto line = to_json_line(e);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    FUZZ_CHECK(valid_utf8(line));
    auto j = nlohmann::json::parse(line); // throws (a crash) if invalid
    FUZZ_CHECK(j["type"] == type_name(e));
    if (e.cgroup && e.cgroup->path && valid_utf8(*e.cgroup->path))
        FUZZ_CHECK(j["cgroup"] == *e.cgroup->path);
    const Task *writer = std::visit(
        [](auto &b) -> const Task * {
            if constexpr (requires { b.writer; })
                return &b.writer;
            return nullptr;
        },
        e.body);
    if (writer && valid_utf8(writer->comm))
        FUZZ_CHECK(j["writer"]["comm"] == writer->comm);
}

void check_text_line(const Event &e) {
    auto line = to_text_line(e);
    for (unsigned char c : line)
        FUZZ_CHECK_IN(c >= 0x20 && c != 0x7f, line);
}

// name{l1="v1",l2="v2"} value  or  name value
void check_prometheus_line(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_'))
        ++i;
    FUZZ_CHECK(i > 0);
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (line[i] != '}') {
            while (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')
                ++i;
            FUZZ_CHECK(line.substr(i, 2) == "=\"");
            for (i += 2; line[i] != '"'; ++i) {
                FUZZ_CHECK(line[i] != '\n' && i + 1 < line.size());
                if (line[i] == '\\') {
                    ++i;
                    FUZZ_CHECK(line[i] == '\\' || line[i] == '"' || line[i] == 'n');
                }
            }
            ++i;
            if (line[i] == ',')
                ++i;
            FUZZ_CHECK(i < line.size());
        }
        ++i;
    }
    FUZZ_CHECK(i < line.size() && line[i] == ' ');
    FUZZ_CHECK(line.find(' ', i + 1) == std::string_view::npos);
}

void check_reports(const std::vector<Event> &events, FuzzedDataProvider &p) {
    Aggregator a;
    for (auto &e : events)
        a.add(e);
    RunInfo run;
    run.version = "freezeprobe 0.1.0";
    run.attach_mode = "tracepoint";
    run.kernel = p.ConsumeRandomLengthString(64);
    run.started_ns = 1;
    run.ended_ns = 2;
    if (p.ConsumeBool()) // a refusal's reason quotes the kernel's and libbpf's words
        run.attach_refused.emplace_back("fentry", p.ConsumeRandomLengthString(64));
    for (int n = p.ConsumeIntegralInRange<int>(0, 3); n > 0; --n)
        run.command.push_back(p.ConsumeRandomLengthString(64));
    if (p.ConsumeBool())
        run.command_exit = p.ConsumeIntegral<int>();

    auto report = nlohmann::json::parse(summary_report_json(a, run));
    FUZZ_CHECK(report["containers"].size() == a.cgroups().size());

    auto xml = junit_xml(a, run);
    char32_t cp;
    for (std::size_t i = 0, n; i < xml.size(); i += n) {
        n = utf8_at(xml, i, cp);
        FUZZ_CHECK(n != 0 && xml_char(cp));
    }

    auto prom = prometheus_text(a);
    FUZZ_CHECK(valid_utf8(prom) && !prom.empty() && prom.back() == '\n');
    std::string_view rest(prom);
    while (!rest.empty()) {
        auto line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(line.size() + 1);
        if (!line.starts_with('#'))
            check_prometheus_line(line);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    FuzzedDataProvider p(data, size);
    Builder b{p};
    std::vector<Event> events;
    for (int n = p.ConsumeIntegralInRange<int>(1, 4); n > 0; --n) {
        events.push_back(b.event());
        check_json_line(events.back());
        check_text_line(events.back());
    }
    check_reports(events, p);
    return 0;
}
