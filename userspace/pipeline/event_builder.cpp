#include "event_builder.h"

#include "diagnosis.h"
#include "written_value.h"

#include <cerrno>
#include <csignal>

namespace freezeprobe {

CgroupKey EventBuilder::key_of(const IoRecord &r) const {
    return CgroupKey{r.dev, r.cgroup_id};
}

std::optional<CgroupKey> EventBuilder::key_of(const CgroupRecord &r) const {
    if (const Hierarchy *h = resolver_.by_id(r.hierarchy_id))
        return CgroupKey{h->dev, r.cgroup_id};
    return std::nullopt;
}

CgroupRef EventBuilder::cgroup_ref(const IoRecord &r) {
    const Hierarchy *h = resolver_.by_dev(r.dev);
    CgroupRef ref;
    ref.version = h ? h->version : r.cgroup_version;
    if (h)
        ref.controllers = h->controllers;
    ref.id = r.cgroup_id;
    if (h)
        ref.path = resolver_.path(*h, r.cgroup_id);
    if (ref.path)
        ref.container = resolve_container(*ref.path);
    name(ref.container);
    return ref;
}

Task EventBuilder::writer(const IoRecord &r) {
    return Task{r.pid, r.tid, r.comm, parents_.of(r.pid, r.tid, r.comm)};
}

Event EventBuilder::write_event(const IoRecord &r, const CgroupRef &cgroup, bool during_freeze) {
    Event event;
    event.time_ns = clock_.from_monotonic(r.mono_ns);
    event.cgroup = cgroup;
    Task writer = this->writer(r);
    int err = r.ret < 0 ? static_cast<int>(-r.ret) : 0;
    if (is_freeze_file(r.file))
        event.body = FreezeWrite{written_value(r.data), err, r.latency_ns, writer, r.lock_wait_ns};
    else
        event.body =
            ProcsWrite{r.file, written_value(r.data), written_pid(r.data), err, r.latency_ns,
                       writer, during_freeze,         r.lock_wait_ns};
    return event;
}

void EventBuilder::learn(const CgroupRecord &r) {
    const Hierarchy *h = resolver_.by_id(r.hierarchy_id);
    if (!h)
        return;
    if (r.op == CgroupOp::rmdir)
        resolver_.forget_later(*h, r.cgroup_id);
    else if (r.op != CgroupOp::release)
        resolver_.learn(*h, r.cgroup_id, r.path);
}

Event EventBuilder::lost(std::uint64_t count) const {
    return Event{clock_.now(), std::nullopt, Lost{count}};
}

Event EventBuilder::stall_event(const StallDue &due, std::vector<Blocker> blockers,
                                std::uint64_t now) const {
    FreezeStall stall{now - due.start_ns, due.counts, due.writer, std::move(blockers), "",
                      due.joiners,        due.forkers};
    stall.diagnosis = stall_diagnosis(due.cgroup, stall);
    return Event{clock_.from_monotonic(now), due.cgroup, std::move(stall)};
}

Event EventBuilder::held_event(const HeldDue &due, std::uint64_t now) const {
    FreezeHeld held;
    held.since_ns = clock_.from_monotonic(due.start_ns);
    held.duration_ns = now - due.start_ns;
    held.frozen = due.frozen;
    held.writer = due.writer;
    // Whether the writer still exists tells a pause left on purpose from a runtime that died
    // between its freeze and its thaw.
    held.writer_running =
        due.writer.pid && (::kill(static_cast<pid_t>(due.writer.pid), 0) == 0 || errno == EPERM);
    held.counts = due.counts;
    held.diagnosis = held_diagnosis(due.cgroup, held);
    return Event{clock_.from_monotonic(now), due.cgroup, std::move(held)};
}

Event EventBuilder::episode_event(const EpisodeReport &r) const {
    FreezeEpisode episode{
        r.outcome, r.end_ns - r.start_ns, r.counts, r.writer, r.blockers, "", r.joiners, r.forkers};
    episode.diagnosis = episode_diagnosis(r.cgroup, episode);
    return Event{clock_.from_monotonic(r.end_ns), r.cgroup, std::move(episode)};
}

} // namespace freezeprobe
