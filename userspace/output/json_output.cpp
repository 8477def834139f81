#include "json_output.h"

#include "errno_name.h"
#include "json_fields.h"
#include "json_writer.h"
#include "time_format.h"
#include "written_value.h"

namespace freezeprobe {
namespace {

void write_task(JsonWriter &w, const Task &t) {
    w.begin_object();
    w.key("pid").value(t.pid).key("tid").value(t.tid).key("comm").value(t.comm);
    if (t.parent) { // only when known: who drove the write (containerd-shim for runc)
        w.key("parent").begin_object();
        w.key("pid").value(t.parent->pid).key("comm").value(t.parent->comm);
        w.end_object();
    }
    w.end_object();
}

void write_cause(JsonWriter &w, const std::optional<BlockerCause> &c) {
    if (!c) {
        w.null();
        return;
    }
    w.begin_object();
    w.key("kind").value(cause_kind_name(c->kind)).key("detail").value(c->detail);
    w.key("holder");
    if (c->holder) {
        w.begin_object();
        w.key("pid").value(c->holder->pid).key("comm").value(c->holder->comm);
        w.key("container");
        write_container(w, c->holder->container);
        w.end_object();
    } else {
        w.null();
    }
    w.key("device").value(c->device).key("hint").value(c->hint);
    w.end_object();
}

void write_blockers(JsonWriter &w, const std::vector<Blocker> &blockers) {
    w.begin_array();
    for (auto &b : blockers) {
        w.begin_object();
        w.key("pid").value(b.pid).key("tid").value(b.tid).key("comm").value(b.comm);
        w.key("state").value(b.state).key("wchan").value(b.wchan);
        w.key("stack").begin_array();
        for (auto &frame : b.stack)
            w.value(frame);
        w.end_array();
        w.key("cgroup").value(b.cgroup);
        w.key("container");
        write_container(w, b.container);
        w.key("cause");
        write_cause(w, b.cause);
        w.end_object();
    }
    w.end_array();
}

void write_counts(JsonWriter &w, const EpisodeCounts &c) {
    w.key("writes").value(c.writes).key("reads").value(c.reads);
    w.key("joins").value(c.joins).key("thaws").value(c.thaws);
    w.key("forks").value(c.forks);
}

void write_error(JsonWriter &w, int err) {
    w.key("errno").value(err).key("error");
    if (!err)
        w.null();
    else if (auto name = errno_name(err))
        w.value(*name);
    else
        w.value("E" + std::to_string(err));
}

// What a write event carries after its value and target: errno, latency, lock wait, writer.
template <typename Write> void write_outcome(JsonWriter &w, const Write &write) {
    write_error(w, write.err);
    w.key("latency_ns").value(write.latency_ns);
    w.key("lock_wait_ns").value(write.lock_wait_ns);
    w.key("writer");
    write_task(w, write.writer);
}

// What a stall and an episode share after their duration: counts, writer, blockers, diagnosis.
template <typename Report> void write_findings(JsonWriter &w, const Report &r) {
    write_counts(w, r.counts);
    w.key("writer");
    write_task(w, r.writer);
    w.key("blockers");
    write_blockers(w, r.blockers);
    w.key("joiners").begin_array();
    for (auto &j : r.joiners) {
        w.begin_object();
        w.key("pid").value(j.pid).key("comm").value(j.comm).key("joins").value(j.joins);
        w.end_object();
    }
    w.end_array();
    w.key("forkers").begin_array();
    for (auto &f : r.forkers) {
        w.begin_object();
        w.key("pid").value(f.pid).key("comm").value(f.comm).key("forks").value(f.forks);
        w.end_object();
    }
    w.end_array();
    w.key("diagnosis").value(r.diagnosis);
}

} // namespace

void append_json_line(std::string &out, const Event &event) {
    JsonWriter w(out);
    w.begin_object();
    w.key("type").value(type_name(event));
    Rfc3339Text time;
    w.key("time").value(rfc3339_utc(event.time_ns, time));
    if (event.cgroup) {
        auto &cg = *event.cgroup;
        w.key("hierarchy").value(cg.version == 1 ? "v1" : "v2");
        w.key("cgroup").value(cg.path);
        w.key("cgroup_id").value(cg.id);
        w.key("container");
        write_container(w, cg.container);
        // Beyond the contract: which v1 hierarchy (a runtime writes cgroup.procs in each).
        if (!cg.controllers.empty())
            w.key("controllers").value(cg.controllers);
    } else {
        w.key("hierarchy").null().key("cgroup").null().key("cgroup_id").null();
        w.key("container").null();
    }
    if (auto *f = std::get_if<FreezeWrite>(&event.body)) {
        w.key("value").value(f->value);
        write_outcome(w, *f);
    } else if (auto *p = std::get_if<ProcsWrite>(&event.body)) {
        w.key("file").value(file_name(p->file));
        w.key("value").value(p->value);
        w.key("target_pid").value(p->target_pid);
        write_outcome(w, *p);
        w.key("during_freeze").value(p->during_freeze);
    } else if (auto *l = std::get_if<Lost>(&event.body)) {
        w.key("count").value(l->count);
    } else if (auto *st = std::get_if<FreezeStall>(&event.body)) {
        w.key("elapsed_ns").value(st->elapsed_ns);
        write_findings(w, *st);
    } else if (auto *h = std::get_if<FreezeHeld>(&event.body)) {
        Rfc3339Text since;
        w.key("since").value(rfc3339_utc(h->since_ns, since));
        w.key("duration_ns").value(h->duration_ns);
        w.key("state").value(h->frozen ? "frozen" : "freezing");
        write_counts(w, h->counts);
        w.key("writer");
        write_task(w, h->writer);
        w.key("writer_running").value(h->writer_running);
        w.key("diagnosis").value(h->diagnosis);
    } else if (auto *ep = std::get_if<FreezeEpisode>(&event.body)) {
        w.key("outcome").value(outcome_name(ep->outcome));
        w.key("duration_ns").value(ep->duration_ns);
        write_findings(w, *ep);
    }
    w.end_object();
}

std::string to_json_line(const Event &event) {
    std::string line;
    append_json_line(line, event);
    return line;
}

} // namespace freezeprobe
