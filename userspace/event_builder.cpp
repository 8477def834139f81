#include "event_builder.h"

#include "written_value.h"

namespace freezeprobe {
namespace {

// What a successful write to a freeze file asks for: true freeze, false thaw, nullopt neither.
std::optional<bool> freeze_request(ControlFile file, std::string_view value) {
    if (file == ControlFile::freezer_state)
        return value == "FROZEN"   ? std::optional(true)
               : value == "THAWED" ? std::optional(false)
                                   : std::nullopt;
    if (file == ControlFile::cgroup_freeze) {
        auto n = written_pid(value); // same integer syntax as the kernel's kstrtoint
        if (n == 1 || n == 0)
            return *n == 1;
    }
    return std::nullopt;
}

} // namespace

const char *type_name(const Event &event) {
    switch (event.body.index()) {
    case 0:
        return "freeze_write";
    case 1:
        return "procs_write";
    default:
        return "lost";
    }
}

std::optional<Event> EventBuilder::on_record(const Record &record) {
    if (auto *w = std::get_if<WriteRecord>(&record))
        return on_write(*w);
    on_cgroup(std::get<CgroupRecord>(record));
    return std::nullopt;
}

Event EventBuilder::lost(std::uint64_t count) const {
    return Event{clock_.now(), std::nullopt, Lost{count}};
}

CgroupRef EventBuilder::cgroup_ref(const Hierarchy *h, int version, std::uint64_t id) {
    CgroupRef ref;
    ref.version = h ? h->version : version;
    ref.id = id;
    if (h)
        ref.path = resolver_.path(*h, id);
    if (ref.path)
        ref.container = resolve_container(*ref.path);
    return ref;
}

std::optional<Event> EventBuilder::on_write(const WriteRecord &w) {
    const Hierarchy *h = resolver_.by_dev(w.dev);
    Event event;
    event.time_ns = clock_.from_monotonic(w.mono_ns);
    event.cgroup = cgroup_ref(h, w.cgroup_version, w.cgroup_id);
    Task writer{w.pid, w.tid, w.comm};
    int err = w.ret < 0 ? static_cast<int>(-w.ret) : 0;
    Key key{h ? h->dev : w.dev, w.cgroup_id};

    if (is_freeze_file(w.file)) {
        FreezeWrite body{written_value(w.data), err, w.latency_ns, writer};
        if (auto request = freeze_request(w.file, body.value); request && err == 0) {
            if (*request)
                freeze_requested_.insert(key);
            else
                freeze_requested_.erase(key);
        }
        event.body = std::move(body);
        return event;
    }
    ProcsWrite body{w.file, written_value(w.data),          written_pid(w.data), err, w.latency_ns,
                    writer, freeze_requested_.contains(key)};
    event.body = std::move(body);
    return event;
}

void EventBuilder::on_cgroup(const CgroupRecord &c) {
    const Hierarchy *h = resolver_.by_id(c.hierarchy_id);
    if (!h)
        return;
    Key key{h->dev, c.cgroup_id};
    switch (c.op) {
    case CgroupOp::mkdir:
    case CgroupOp::freeze:
    case CgroupOp::unfreeze:
    case CgroupOp::notify_frozen:
    case CgroupOp::attach_task:
        resolver_.learn(*h, c.cgroup_id, c.path);
        break;
    case CgroupOp::rmdir:
        resolver_.forget_later(*h, c.cgroup_id);
        freeze_requested_.erase(key);
        break;
    case CgroupOp::release:
        freeze_requested_.erase(key);
        break;
    }
    // v2 propagates a parent's freeze to its descendants, each with its own tracepoint.
    if (c.op == CgroupOp::freeze)
        freeze_requested_.insert(key);
    else if (c.op == CgroupOp::unfreeze)
        freeze_requested_.erase(key);
}

} // namespace freezeprobe
