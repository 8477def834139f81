#include "summary_report.h"

#include "json_fields.h"
#include "time_format.h"

#include <algorithm>

namespace freezeprobe {
namespace {

// Keys stay in the order the contract lists them.
using json = nlohmann::ordered_json;

json histogram_json(const Log2Histogram &h) {
    return json{
        {"count", h.count}, {"p50", h.quantile(0.5)}, {"p99", h.quantile(0.99)}, {"max", h.max}};
}

json files_json(const std::map<std::string, FileStats> &files) {
    json j = json::object();
    for (auto &[name, f] : files) {
        json errors = json::object();
        for (auto &[error, n] : f.errors)
            errors[error] = n;
        j[name] = json{{"count", f.count},
                       {"errors", errors},
                       {"latency_ns", histogram_json(f.latency_ns)},
                       {"lock_wait_ns", histogram_json(f.lock_wait_ns)}};
    }
    return j;
}

json cgroup_json(const CgroupStats &s) {
    auto &c = s.cgroup;
    json j;
    j["cgroup"] = nullable_json(c.path);
    j["cgroup_id"] = c.id;
    j["hierarchy"] = c.version == 1 ? "v1" : "v2";
    if (c.version == 1)
        j["controllers"] = c.controllers;
    j["container"] = container_json(c.container);
    // Every outcome, so that a script can read episodes.aborted without checking it exists.
    json episodes = json::object();
    for (auto outcome : {EpisodeOutcome::frozen, EpisodeOutcome::aborted, EpisodeOutcome::thawed,
                         EpisodeOutcome::removed, EpisodeOutcome::open}) {
        auto it = s.episodes.find(outcome_name(outcome));
        episodes[outcome_name(outcome)] = it == s.episodes.end() ? 0 : it->second;
    }
    j["episodes"] = episodes;
    j["stalls"] = s.stalls;
    j["held"] = s.held;
    j["freeze_latency_ns"] = histogram_json(s.freeze_latency_ns);
    j["files"] = files_json(s.files);
    json failures = json::array();
    for (auto &f : s.failures)
        failures.push_back(
            json{{"time", rfc3339_utc(f.time_ns)}, {"kind", f.kind}, {"message", f.message}});
    j["failures"] = failures;
    j["failures_dropped"] = s.failures_dropped;
    return j;
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
    json j;
    j["version"] = run.version;
    j["attach_mode"] = run.attach_mode;
    // Beyond the contract: why auto did not pick a better mode (empty when none was refused).
    j["attach_refused"] = json::object();
    for (const auto &[mode, reason] : run.attach_refused)
        j["attach_refused"][mode] = reason;
    j["kernel"] = run.kernel;
    j["started"] = rfc3339_utc(run.started_ns);
    j["ended"] = rfc3339_utc(run.ended_ns);
    j["events_lost"] = aggregator.events_lost();
    if (aggregator.cgroups_dropped())
        j["cgroups_dropped"] = aggregator.cgroups_dropped();
    // Containers whose Prometheus series were dropped to keep within the bound per run.
    if (aggregator.containers_dropped())
        j["container_series_dropped"] = aggregator.containers_dropped();
    if (!run.command.empty())
        j["command"] = run.command;
    if (run.command_exit)
        j["command_exit"] = *run.command_exit;

    json containers = json::array();
    for (auto *s : cgroups_in_report_order(aggregator))
        containers.push_back(cgroup_json(*s));
    j["containers"] = containers;
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace freezeprobe
