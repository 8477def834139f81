#include "event_pipeline.h"

#include "written_value.h"

namespace freezeprobe {

EventPipeline::EventPipeline(CgroupResolver &resolver, WallClock clock, TrackerConfig tracker,
                             PipelineTimers timers, EventFilter filter, Sink sink,
                             std::uint32_t self_pid, StateReader read_state,
                             BlockerFinder find_blockers)
    : builder_(resolver, clock), tracker_(tracker), timers_(timers), filter_(std::move(filter)),
      sink_(std::move(sink)), self_pid_(self_pid), read_state_(std::move(read_state)),
      find_blockers_(std::move(find_blockers)) {}

void EventPipeline::emit(const Event &event) {
    if (!filter_.matches(event))
        return;
    ++delivered_;
    sink_(event);
}

void EventPipeline::emit(const std::vector<EpisodeReport> &reports) {
    for (auto &r : reports) {
        last_state_check_.erase(r.key);
        last_blocker_scan_.erase(r.key);
        emit(builder_.episode_event(r));
    }
}

void EventPipeline::lost(std::uint64_t count) {
    sink_(builder_.lost(count));
}

void EventPipeline::on_record(const Record &record) {
    if (auto *io = std::get_if<IoRecord>(&record))
        on_io(*io);
    else
        on_cgroup(std::get<CgroupRecord>(record));
}

void EventPipeline::on_io(const IoRecord &r) {
    auto key = builder_.key_of(r);
    if (r.is_read) {
        emit(tracker_.on_state_read(key, r.mono_ns, r.data, r.pid == self_pid_));
        return;
    }
    auto cgroup = builder_.cgroup_ref(r);
    bool ok = r.ret >= 0;
    if (is_freeze_file(r.file)) {
        emit(builder_.write_event(r, cgroup, false));
        auto freeze = freeze_request(r.file == ControlFile::freezer_state, r.data);
        if (ok && freeze)
            emit(tracker_.on_freeze_request(key, cgroup, r.mono_ns, Task{r.pid, r.tid, r.comm},
                                            *freeze));
        return;
    }
    emit(builder_.write_event(r, cgroup, tracker_.freeze_in_effect(key)));
    if (ok)
        tracker_.on_join(key);
}

void EventPipeline::on_cgroup(const CgroupRecord &r) {
    builder_.learn(r);
    auto key = builder_.key_of(r);
    if (!key)
        return;
    if (r.op == CgroupOp::notify_frozen)
        emit(tracker_.on_notify_frozen(*key, r.mono_ns, r.val != 0));
    else if (r.op == CgroupOp::rmdir)
        emit(tracker_.on_removed(*key, r.mono_ns));
}

std::vector<Blocker> EventPipeline::blockers_of(const CgroupKey &key, const CgroupRef &cgroup) {
    const Hierarchy *h = builder_.hierarchy_of(key);
    if (!h || !cgroup.path)
        return {};
    return find_blockers_(*h, *cgroup.path);
}

void EventPipeline::tick(std::uint64_t now) {
    emit(tracker_.tick(now));
    // freezeprobe's own read of the freeze state: v1 decides FROZEN only when the file is read,
    // and a runtime that makes a single write (crun, containerd) may never read it.
    for (auto &[key, cgroup] : tracker_.pending()) {
        auto &last = last_state_check_[key];
        const Hierarchy *h = builder_.hierarchy_of(key);
        if (now - last < timers_.state_check_interval_ns || !h || !cgroup.path)
            continue;
        last = now;
        if (auto content = read_state_(*h, *cgroup.path); !content.empty())
            emit(tracker_.on_state_read(key, now, content, true));
    }
    for (auto &due : tracker_.due_stalls(now)) {
        auto blockers = blockers_of(due.key, due.cgroup);
        tracker_.set_blockers(due.key, blockers);
        last_blocker_scan_[due.key] = now;
        emit(builder_.stall_event(due, std::move(blockers), now));
    }
    // Keep the blockers of stalled freezes current: the episode reports the last ones seen.
    for (auto &[key, cgroup] : tracker_.pending()) {
        auto last = last_blocker_scan_.find(key);
        if (last == last_blocker_scan_.end() ||
            now - last->second < timers_.blocker_rescan_interval_ns)
            continue;
        last->second = now;
        tracker_.set_blockers(key, blockers_of(key, cgroup));
    }
}

void EventPipeline::finish(std::uint64_t now) {
    emit(tracker_.finish(now));
}

} // namespace freezeprobe
