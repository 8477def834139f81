#include "json_output.h"

#include "json_fields.h"
#include "time_format.h"
#include "written_value.h"

#include <nlohmann/json.hpp>

namespace freezeprobe {
namespace {

// Keys stay in the order the contract lists them.
using json = nlohmann::ordered_json;

template <typename T> json optional_json(const std::optional<T> &value) {
    return value ? json(*value) : json(nullptr);
}

json task_json(const Task &t) {
    return json{{"pid", t.pid}, {"tid", t.tid}, {"comm", t.comm}};
}

json blocker_json(const Blocker &b) {
    return json{{"pid", b.pid},
                {"tid", b.tid},
                {"comm", b.comm},
                {"state", b.state},
                {"wchan", b.wchan},
                {"stack", b.stack},
                {"cgroup", nullable_json(b.cgroup)},
                {"container", container_json(b.container)}};
}

json blockers_json(const std::vector<Blocker> &blockers) {
    json list = json::array();
    for (auto &b : blockers)
        list.push_back(blocker_json(b));
    return list;
}

void add_counts(json &j, const EpisodeCounts &c) {
    j["writes"] = c.writes;
    j["reads"] = c.reads;
    j["joins"] = c.joins;
    j["thaws"] = c.thaws;
}

void add_error(json &j, int err) {
    j["errno"] = err;
    j["error"] = err ? json(errno_name(err).value_or("E" + std::to_string(err))) : json(nullptr);
}

} // namespace

std::string to_json_line(const Event &event) {
    json j;
    j["type"] = type_name(event);
    j["time"] = rfc3339_utc(event.time_ns);
    if (event.cgroup) {
        j["hierarchy"] = event.cgroup->version == 1 ? "v1" : "v2";
        j["cgroup"] = nullable_json(event.cgroup->path);
        j["cgroup_id"] = event.cgroup->id;
        j["container"] = container_json(event.cgroup->container);
        // Beyond the contract: which v1 hierarchy (a runtime writes cgroup.procs in each).
        if (!event.cgroup->controllers.empty())
            j["controllers"] = event.cgroup->controllers;
    } else {
        j["hierarchy"] = nullptr;
        j["cgroup"] = nullptr;
        j["cgroup_id"] = nullptr;
        j["container"] = nullptr;
    }
    if (auto *f = std::get_if<FreezeWrite>(&event.body)) {
        j["value"] = f->value;
        add_error(j, f->err);
        j["latency_ns"] = f->latency_ns;
        j["lock_wait_ns"] = optional_json(f->lock_wait_ns);
        j["writer"] = task_json(f->writer);
    } else if (auto *p = std::get_if<ProcsWrite>(&event.body)) {
        j["file"] = file_name(p->file);
        j["value"] = p->value;
        j["target_pid"] = optional_json(p->target_pid);
        add_error(j, p->err);
        j["latency_ns"] = p->latency_ns;
        j["lock_wait_ns"] = optional_json(p->lock_wait_ns);
        j["writer"] = task_json(p->writer);
        j["during_freeze"] = p->during_freeze;
    } else if (auto *l = std::get_if<Lost>(&event.body)) {
        j["count"] = l->count;
    } else if (auto *st = std::get_if<FreezeStall>(&event.body)) {
        j["elapsed_ns"] = st->elapsed_ns;
        add_counts(j, st->counts);
        j["writer"] = task_json(st->writer);
        j["blockers"] = blockers_json(st->blockers);
        j["diagnosis"] = st->diagnosis;
    } else if (auto *ep = std::get_if<FreezeEpisode>(&event.body)) {
        j["outcome"] = outcome_name(ep->outcome);
        j["duration_ns"] = ep->duration_ns;
        add_counts(j, ep->counts);
        j["writer"] = task_json(ep->writer);
        j["blockers"] = blockers_json(ep->blockers);
        j["diagnosis"] = ep->diagnosis;
    }
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace freezeprobe
