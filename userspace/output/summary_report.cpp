#include "summary_report.h"

#include "json_fields.h"
#include "time_format.h"

#include <algorithm>

namespace freezeprobe {
namespace {

// Keys stay in the order the contract lists them (docs/report.md).
void write_histogram(JsonWriter &w, const Log2Histogram &h) {
    w.begin_object();
    w.key("count").value(h.count);
    w.key("p50").value(h.quantile(0.5));
    w.key("p99").value(h.quantile(0.99));
    w.key("max").value(h.max);
    w.end_object();
}

void write_files(JsonWriter &w, const std::map<std::string, FileStats> &files) {
    w.begin_object();
    for (auto &[name, f] : files) {
        w.key(name).begin_object();
        w.key("count").value(f.count);
        w.key("errors").begin_object();
        for (auto &[error, n] : f.errors)
            w.key(error).value(n);
        w.end_object();
        w.key("latency_ns");
        write_histogram(w, f.latency_ns);
        w.key("lock_wait_ns");
        write_histogram(w, f.lock_wait_ns);
        w.end_object();
    }
    w.end_object();
}

void write_cgroup(JsonWriter &w, const CgroupStats &s) {
    auto &c = s.cgroup;
    w.begin_object();
    w.key("cgroup").value(c.path);
    w.key("cgroup_id").value(c.id);
    w.key("hierarchy").value(c.version == 1 ? "v1" : "v2");
    if (c.version == 1)
        w.key("controllers").value(c.controllers);
    w.key("container");
    write_container(w, c.container);
    // Every outcome, so that a script can read episodes.aborted without checking it exists.
    w.key("episodes").begin_object();
    for (auto outcome : {EpisodeOutcome::frozen, EpisodeOutcome::aborted, EpisodeOutcome::thawed,
                         EpisodeOutcome::removed, EpisodeOutcome::open}) {
        auto it = s.episodes.find(outcome_name(outcome));
        w.key(outcome_name(outcome)).value(it == s.episodes.end() ? 0 : it->second);
    }
    w.end_object();
    w.key("stalls").value(s.stalls);
    w.key("held").value(s.held);
    w.key("freeze_latency_ns");
    write_histogram(w, s.freeze_latency_ns);
    w.key("files");
    write_files(w, s.files);
    w.key("failures").begin_array();
    for (auto &f : s.failures) {
        w.begin_object();
        w.key("time").value(rfc3339_utc(f.time_ns));
        w.key("kind").value(f.kind);
        w.key("message").value(f.message);
        w.end_object();
    }
    w.end_array();
    w.key("failures_dropped").value(s.failures_dropped);
    w.end_object();
}

} // namespace

std::vector<const CgroupStats *> cgroups_in_report_order(const Aggregator &aggregator) {
    std::vector<const CgroupStats *> order;
    for (auto &[key, s] : aggregator.cgroups())
        order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const CgroupStats *a, const CgroupStats *b) {
        auto &ca = a->cgroup, &cb = b->cgroup;
        return std::forward_as_tuple(ca.version, !ca.path, ca.path, ca.controllers, ca.id) <
               std::forward_as_tuple(cb.version, !cb.path, cb.path, cb.controllers, cb.id);
    });
    return order;
}

std::string summary_report_json(const Aggregator &aggregator, const RunInfo &run) {
    std::string out;
    JsonWriter w(out, 2);
    w.begin_object();
    w.key("version").value(run.version);
    w.key("attach_mode").value(run.attach_mode);
    // Beyond the contract: why auto did not pick a better mode (empty when none was refused).
    w.key("attach_refused").begin_object();
    for (const auto &[mode, reason] : run.attach_refused)
        w.key(mode).value(reason);
    w.end_object();
    w.key("kernel").value(run.kernel);
    w.key("started").value(rfc3339_utc(run.started_ns));
    w.key("ended").value(rfc3339_utc(run.ended_ns));
    w.key("events_lost").value(aggregator.events_lost());
    if (aggregator.cgroups_dropped())
        w.key("cgroups_dropped").value(aggregator.cgroups_dropped());
    // Containers whose Prometheus series were dropped to keep within the bound per run.
    if (aggregator.containers_dropped())
        w.key("container_series_dropped").value(aggregator.containers_dropped());
    if (!run.command.empty()) {
        w.key("command").begin_array();
        for (auto &arg : run.command)
            w.value(arg);
        w.end_array();
    }
    if (run.command_exit)
        w.key("command_exit").value(*run.command_exit);
    w.key("containers").begin_array();
    for (auto *s : cgroups_in_report_order(aggregator))
        write_cgroup(w, *s);
    w.end_array();
    w.end_object();
    out += '\n';
    return out;
}

} // namespace freezeprobe
