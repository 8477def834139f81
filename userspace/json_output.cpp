#include "json_output.h"

#include "time_format.h"
#include "written_value.h"

#include <nlohmann/json.hpp>

namespace freezeprobe {
namespace {

// Keys stay in the order the contract lists them.
using json = nlohmann::ordered_json;

json nullable(const std::optional<std::string> &s) {
    return s ? json(*s) : json(nullptr);
}

json container_json(const std::optional<Container> &c) {
    if (!c)
        return nullptr;
    return json{{"id", c->id},
                {"runtime", nullable(c->runtime)},
                {"pod_uid", nullable(c->pod_uid)},
                {"qos", nullable(c->qos)}};
}

json task_json(const Task &t) {
    return json{{"pid", t.pid}, {"tid", t.tid}, {"comm", t.comm}};
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
        j["cgroup"] = nullable(event.cgroup->path);
        j["cgroup_id"] = event.cgroup->id;
        j["container"] = container_json(event.cgroup->container);
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
        j["writer"] = task_json(f->writer);
    } else if (auto *p = std::get_if<ProcsWrite>(&event.body)) {
        j["file"] = file_name(p->file);
        j["value"] = p->value;
        j["target_pid"] = p->target_pid ? json(*p->target_pid) : json(nullptr);
        add_error(j, p->err);
        j["latency_ns"] = p->latency_ns;
        j["writer"] = task_json(p->writer);
        j["during_freeze"] = p->during_freeze;
    } else if (auto *l = std::get_if<Lost>(&event.body)) {
        j["count"] = l->count;
    }
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace freezeprobe
