#include "event_pipeline.h"

#include "written_value.h"

#include <algorithm>

namespace freezeprobe {

EventPipeline::EventPipeline(CgroupResolver &resolver, WallClock clock, TrackerConfig tracker,
                             PipelineTimers timers, EventFilter filter, Sink sink,
                             std::uint32_t self_pid, StateReader read_state,
                             BlockerFinder find_blockers, ContainerNamer *namer)
    : builder_(resolver, clock, namer), tracker_(tracker), timers_(timers),
      filter_(std::move(filter)), sink_(std::move(sink)), self_pid_(self_pid),
      read_state_(std::move(read_state)), find_blockers_(std::move(find_blockers)) {}

void EventPipeline::emit(const Event &event) {
    if (!filter_.matches(event))
        return;
    ++delivered_;
    sink_(event);
}

std::vector<Blocker> EventPipeline::resolved(std::vector<Blocker> blockers) const {
    if (resolve_causes_ && !blockers.empty())
        resolve_causes_(blockers);
    return blockers;
}

// Forks are counted from the moment the freeze request is processed here (so forks between the
// write and its record's arrival, usually well under a millisecond, are missed) until the
// episode's freezing ends: frozen, aborted, removed, or open at the end of the run.
void EventPipeline::watch_forks(const CgroupKey &key) {
    if (!forks_.watch || !tracker_.freeze_in_effect(key))
        return;
    const Hierarchy *h = builder_.hierarchy_of(key);
    if (!h || !forks_.watch(h->version, key.second))
        return;
    fork_watches_.emplace(key, std::pair(h->version, key.second));
}

std::optional<EventPipeline::ForkCount> EventPipeline::take_forks(const CgroupKey &key,
                                                                  bool unwatch) {
    auto it = fork_watches_.find(key);
    if (it == fork_watches_.end())
        return std::nullopt;
    auto count = forks_.tally(it->second.first, it->second.second, unwatch);
    std::stable_sort(count.forkers.begin(), count.forkers.end(),
                     [](const Forker &a, const Forker &b) { return a.forks > b.forks; });
    if (count.forkers.size() > EpisodeTracker::max_forkers)
        count.forkers.resize(EpisodeTracker::max_forkers);
    tracker_.set_forks(key, count.forks, count.forkers);
    if (unwatch)
        fork_watches_.erase(it);
    return count;
}

void EventPipeline::emit(const std::vector<EpisodeReport> &reports) {
    for (auto r : reports) {
        looks_.erase(r.key);
        // The tracker made the report before the count was read: read it now (the tracker
        // keeps it for the thawed report of a frozen episode).
        if (auto count = take_forks(r.key, true)) {
            r.counts.forks = count->forks;
            r.forkers = std::move(count->forkers);
        }
        if (!r.blockers.empty() && resolve_causes_)
            r.blockers = resolved(std::move(r.blockers));
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
        emit(tracker_.on_state_read(key, r.mono_ns, r.data, r.pid == self_pid_, r.pid));
        return;
    }
    auto cgroup = builder_.cgroup_ref(r);
    bool ok = r.ret >= 0;
    if (is_freeze_file(r.file)) {
        emit(builder_.write_event(r, cgroup, false));
        auto freeze = freeze_request(r.file == ControlFile::freezer_state, r.data);
        if (ok && freeze) {
            bool starts = *freeze && !tracker_.has_episode(key);
            auto reports =
                tracker_.on_freeze_request(key, cgroup, r.mono_ns, builder_.writer(r), *freeze);
            // Not when it froze at once (a v2 notification came first): no report would end it.
            if (starts && reports.empty())
                watch_forks(key);
            emit(reports);
        }
        return;
    }
    emit(builder_.write_event(r, cgroup, tracker_.freeze_in_effect(key)));
    if (ok)
        tracker_.on_join(key, Task{r.pid, r.tid, r.comm, std::nullopt}); // joiners need no parent
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

// freezeprobe's own look at a pending freeze. Its read of the state matters: v1 decides FROZEN
// only when freezer.state is read, and a runtime that makes a single write (crun, containerd) may
// never read it. Blockers only count when the cgroup was freezing while they were looked for:
// the task iterator says so itself, task by task; a /proc scan needs the state file to read
// freezing before and after it. runc's v1 loop leaves the cgroup freezing for only about 2 ms
// in every 12 (it thaws for 10 ms every 50 tries), which a scan framed by two state reads often
// missed altogether.
void EventPipeline::look_at(const PendingEpisode &p, std::uint64_t now, bool blockers_only) {
    const Hierarchy *h = builder_.hierarchy_of(p.key);
    if (!h || !p.cgroup.path)
        return;
    auto &looks = looks_[p.key];
    // Sampled until two scans in a row find the same blockers (a task on its way to frozen,
    // runnable but not yet run, is found by the first only), then rescanned ever less often; a
    // freeze in which no blocker is found is sampled ever less often from the start.
    auto blocker_interval = timers_.blocker_sample_interval_ns;
    auto max_interval = timers_.blocker_rescan_interval_ns;
    if (p.has_blockers && looks.unchanged > 0) {
        blocker_interval = timers_.blocker_rescan_interval_ns;
        max_interval = timers_.blocker_rescan_max_interval_ns;
    }
    for (unsigned i = p.has_blockers ? 1 : 0;
         i < looks.unchanged && blocker_interval < max_interval; ++i)
        blocker_interval *= 2;
    blocker_interval = std::min(blocker_interval, max_interval);
    bool want_blockers = now - p.start_ns >= timers_.blocker_sample_after_ns &&
                         now - looks.blockers >= blocker_interval;
    if (!want_blockers && (blockers_only || now - looks.state < timers_.state_check_interval_ns))
        return;
    if (!blockers_only) // a FROZEN read between ticks ends nothing: the tick must read again
        looks.state = now;
    auto state = read_state_(*h, *p.cgroup.path);
    if (state == FreezeState::frozen) {
        if (!blockers_only)
            emit(tracker_.on_seen_frozen(p.key, now));
        return;
    }
    if (!want_blockers || !state)
        return;
    auto scan = find_blockers_(*h, *p.cgroup.path, state == FreezeState::freezing);
    if (!scan.scanned)
        return;
    looks.blockers = now;
    for (auto &b : scan.blockers)
        builder_.name(b.container);
    bool freezing =
        scan.freezing ? *scan.freezing : read_state_(*h, *p.cgroup.path) == FreezeState::freezing;
    if (!freezing)
        return; // a look during a thaw says nothing about what holds the freeze up
    std::vector<std::uint32_t> found;
    for (auto &b : scan.blockers)
        found.push_back(b.tid);
    looks.unchanged = looks.scanned && found == looks.found ? looks.unchanged + 1 : 0;
    looks.scanned = true;
    looks.found = std::move(found);
    tracker_.set_blockers(p.key, std::move(scan.blockers));
}

void EventPipeline::tick(std::uint64_t now) {
    emit(tracker_.tick(now, alive_));
    for (auto &p : tracker_.pending())
        look_at(p, now, false);
    for (auto &due : tracker_.due_stalls(now)) {
        if (auto count = take_forks(due.key, false)) {
            due.counts.forks = count->forks;
            due.forkers = std::move(count->forkers);
        }
        emit(builder_.stall_event(due, resolved(due.blockers), now));
    }
    for (auto &due : tracker_.due_held(now)) {
        if (auto count = take_forks(due.key, false))
            due.counts.forks = count->forks;
        emit(builder_.held_event(due, now));
    }
}

void EventPipeline::sample_blockers(std::uint64_t now) {
    for (auto &p : tracker_.pending())
        look_at(p, now, true);
}

void EventPipeline::finish(std::uint64_t now) {
    emit(tracker_.finish(now));
}

} // namespace freezeprobe
