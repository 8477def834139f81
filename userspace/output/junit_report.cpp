#include "junit_report.h"

#include "container_names.h"
#include "summary_report.h"
#include "time_format.h"
#include "utf8.h"

#include <fmt/format.h>

#include <map>

namespace freezeprobe {
namespace {

constexpr std::size_t max_message_chars = 200;

bool xml_char(char32_t cp) {
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// Valid UTF-8 holding only characters XML 1.0 allows; everything else becomes U+FFFD.
std::string xml_chars(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = decode_utf8(s, i);
        if (c.valid && xml_char(c.code_point)) {
            out.append(s.substr(i, c.length));
        } else {
            // One per character XML does not allow, one per invalid sequence (utf8.h).
            out += replacement_character;
        }
        i += c.length;
    }
    return out;
}

// Escapes text that xml_chars already cleaned. In element content, tab and newline stay as they
// are, so that a diagnosis stays readable in the file.
std::string escape_clean(std::string_view s, bool attribute) {
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\r':
            out += "&#13;";
            break; // a parser turns a raw CR into LF
        case '\n':
            out += attribute ? "&#10;" : "\n";
            break;
        case '\t':
            out += attribute ? "&#9;" : "\t";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string attr(std::string_view s) {
    return escape_clean(xml_chars(s), true);
}
std::string text(std::string_view s) {
    return escape_clean(xml_chars(s), false);
}

// The first line, at most max_message_chars characters, cut on a character boundary.
std::string short_message(std::string_view message) {
    auto clean = xml_chars(message.substr(0, message.find('\n')));
    std::size_t chars = 0, cut = 0;
    for (std::size_t i = 0; i < clean.size(); ++i) {
        if ((static_cast<unsigned char>(clean[i]) & 0xc0) == 0x80)
            continue; // not the first byte of a character
        if (++chars == max_message_chars)
            cut = i;
    }
    if (chars > max_message_chars) {
        clean.resize(cut);
        clean += "\xe2\x80\xa6"; // U+2026, the ellipsis: the 200th character
    }
    return escape_clean(clean, true);
}

std::string seconds(std::uint64_t ns) {
    return fmt::format("{:.6f}", static_cast<double>(ns) / 1e9);
}

std::string hierarchy_name(const CgroupRef &c) {
    return c.version == 1 ? "v1" : "v2";
}

std::string path_or_id(const CgroupRef &c) {
    return c.path ? *c.path : fmt::format("<cgroup id {}>", c.id);
}

// namespace/pod/container if known, else the container ID if there is one, else the cgroup path.
std::string testcase_name(const CgroupRef &c) {
    if (!c.container)
        return path_or_id(c);
    auto name = kubernetes_name(*c.container);
    return name ? *name : c.container->id;
}

// The same container may show up twice (v1: once per hierarchy a runtime wrote to; podman: its
// scope and the scope's "container" child); CI systems merge testcases of the same name.
std::string unique_name(const CgroupRef &c) {
    auto where = c.controllers.empty() ? path_or_id(c) : c.controllers + ":" + path_or_id(c);
    return fmt::format("{} ({}, id {})", testcase_name(c), where, c.id);
}

std::string system_out(const CgroupStats &s) {
    auto &c = s.cgroup;
    std::string out = fmt::format("cgroup: {}\nhierarchy: {}{}\ncgroup_id: {}\n", path_or_id(c),
                                  hierarchy_name(c),
                                  c.controllers.empty() ? "" : " (" + c.controllers + ")", c.id);
    if (c.container) {
        auto &k = *c.container;
        out += fmt::format("container: {}\nruntime: {}\npod_uid: {}\nqos: {}\n", k.id,
                           k.runtime.value_or("-"), k.pod_uid.value_or("-"), k.qos.value_or("-"));
        out += fmt::format("namespace: {}\npod: {}\ncontainer name: {}\nsandbox: {}\n",
                           k.namespace_name.value_or("-"), k.pod_name.value_or("-"),
                           k.name.value_or("-"), k.sandbox ? (*k.sandbox ? "yes" : "no") : "-");
    }
    out += "episodes:";
    for (auto &[outcome, n] : s.episodes)
        out += fmt::format(" {} {}", outcome, n);
    out += fmt::format("\nstalls: {}\nheld: {}\n", s.stalls, s.held);
    if (s.freeze_latency_ns.count)
        out += fmt::format("freeze latency: p50 {} p99 {} max {}\n",
                           human_duration(s.freeze_latency_ns.quantile(0.5)),
                           human_duration(s.freeze_latency_ns.quantile(0.99)),
                           human_duration(s.freeze_latency_ns.max));
    for (auto &[file, f] : s.files) {
        out += fmt::format("writes to {}: {}", file, f.count);
        for (auto &[error, n] : f.errors)
            out += fmt::format(", {} {}", error, n);
        out += "\n";
    }
    // Some CI systems show only the first <failure> of a testcase.
    for (auto &f : s.failures) {
        auto time = rfc3339_utc(f.time_ns);
        std::string_view line = f.message;
        line = line.substr(0, line.find('\n'));
        if (line.starts_with(time + " ")) // a write error's text line starts with its time
            line.remove_prefix(time.size() + 1);
        out += fmt::format("{} {}: {}\n", time, f.kind, line);
    }
    return out;
}

void failure(std::string &out, std::string_view type, std::string_view message,
             std::string_view body) {
    out += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n", attr(type),
                       short_message(message), text(body));
}

struct Testcase {
    std::string classname, name, time, body;
    bool failed = false;
};

std::string property(std::string_view name, std::string_view value) {
    return fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", attr(name), attr(value));
}

} // namespace

std::string xml_escape(std::string_view s) {
    return attr(s);
}

std::string junit_xml(const Aggregator &aggregator, const RunInfo &run) {
    std::vector<Testcase> cases;
    auto order = cgroups_in_report_order(aggregator);
    std::map<std::pair<std::string, std::string>, int> names;
    for (auto *s : order)
        ++names[{hierarchy_name(s->cgroup), testcase_name(s->cgroup)}];
    for (auto *s : order) {
        auto &c = s->cgroup;
        Testcase t{"freezeprobe." + hierarchy_name(c), testcase_name(c),
                   seconds(s->freeze_latency_ns.sum), ""};
        if (names[{hierarchy_name(c), t.name}] > 1)
            t.name = unique_name(c);
        for (auto &f : s->failures)
            failure(t.body, f.kind, f.message, f.message);
        if (s->failures_dropped) {
            auto m = fmt::format("{} more failures of this cgroup were not recorded (only the "
                                 "first {} are kept)",
                                 s->failures_dropped, Aggregator::max_failures);
            failure(t.body, "dropped", m, m);
        }
        t.failed = !t.body.empty();
        t.body += fmt::format("      <system-out>{}</system-out>\n", text(system_out(*s)));
        cases.push_back(std::move(t));
    }
    Testcase events{"freezeprobe", "events", seconds(0), ""};
    if (auto lost = aggregator.events_lost()) {
        failure(events.body, "lost", fmt::format("{} events lost", lost),
                fmt::format("The kernel could not queue {} events (ring buffer full), so this "
                            "report may miss freezes, writes and failures.",
                            lost));
        events.failed = true;
    }
    cases.push_back(std::move(events));

    std::size_t failed = 0;
    for (auto &t : cases)
        failed += t.failed;
    auto time = seconds(run.ended_ns > run.started_ns ? run.ended_ns - run.started_ns : 0);
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<testsuites name=\"freezeprobe\" tests=\"{}\" failures=\"{}\" "
                       "errors=\"0\" time=\"{}\">\n",
                       cases.size(), failed, time);
    out +=
        fmt::format("  <testsuite name=\"freezeprobe\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
                    "skipped=\"0\" time=\"{}\" timestamp=\"{}\">\n",
                    cases.size(), failed, time, rfc3339_utc(run.started_ns).substr(0, 19));
    out += "    <properties>\n";
    out += property("version", run.version);
    out += property("attach_mode", run.attach_mode);
    for (const auto &[mode, reason] : run.attach_refused)
        out += property("attach_refused_" + mode, reason);
    out += property("kernel", run.kernel);
    if (!run.command.empty()) {
        std::string command;
        for (auto &arg : run.command)
            command += (command.empty() ? "" : " ") + arg;
        out += property("command", command);
    }
    if (run.command_exit)
        out += property("command_exit", std::to_string(*run.command_exit));
    out += property("events_lost", std::to_string(aggregator.events_lost()));
    out += "    </properties>\n";
    for (auto &t : cases) {
        out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                           attr(t.classname), attr(t.name), t.time);
        out += t.body.empty() ? "/>\n" : ">\n" + t.body + "    </testcase>\n";
    }
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

} // namespace freezeprobe
