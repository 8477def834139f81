#include "episode_tracker.h"

#include "text_util.h"

namespace freezeprobe {

std::optional<bool> reads_as_frozen(std::string_view content) {
    auto v = trim(content);
    // v1 freezer.state
    if (v == "FROZEN")
        return true;
    if (v == "FREEZING" || v == "THAWED")
        return false;
    // v2 cgroup.events: "populated 1\nfrozen 0\n"
    for (auto line : split(content, '\n')) {
        if (trim(line) == "frozen 1")
            return true;
        if (trim(line) == "frozen 0")
            return false;
    }
    return std::nullopt;
}

EpisodeReport EpisodeTracker::report(const CgroupKey &key, const Episode &e, EpisodeOutcome outcome,
                                     std::uint64_t end) const {
    return EpisodeReport{key,      e.cgroup, e.start_ns, end,       outcome,
                         e.counts, e.writer, e.blockers, e.joiners, e.forkers};
}

std::vector<EpisodeReport> EpisodeTracker::on_freeze_request(const CgroupKey &key,
                                                             const CgroupRef &cgroup,
                                                             std::uint64_t time, const Task &writer,
                                                             bool freeze) {
    auto it = episodes_.find(key);
    if (!freeze) {
        if (it == episodes_.end())
            return {};
        auto &e = it->second;
        if (e.phase == Phase::frozen) {
            auto r = report(key, e, EpisodeOutcome::thawed, time);
            episodes_.erase(it);
            return {r};
        }
        // Not frozen yet: aborted, unless a new freeze request follows within the grace window.
        e.phase = Phase::thaw_pending;
        e.thaw_ns = time;
        e.thawer = writer.pid;
        ++e.counts.thaws;
        return {};
    }
    if (it == episodes_.end()) {
        Episode e;
        e.cgroup = cgroup;
        e.start_ns = time;
        e.writer = writer;
        it = episodes_.emplace(key, std::move(e)).first;
    }
    auto &e = it->second;
    ++e.counts.writes;
    if (e.phase == Phase::thaw_pending)
        e.phase = Phase::freezing;
    // v2: the frozen notification may already be here (it fires inside the write).
    if (auto n = notified_.find(key); e.phase == Phase::freezing && n != notified_.end() &&
                                      n->second.frozen && n->second.time >= time)
        return became_frozen(key, n->second.time);
    return {};
}

std::vector<EpisodeReport> EpisodeTracker::became_frozen(const CgroupKey &key, std::uint64_t time) {
    auto it = episodes_.find(key);
    if (it == episodes_.end() || it->second.phase != Phase::freezing)
        return {};
    it->second.phase = Phase::frozen;
    return {report(key, it->second, EpisodeOutcome::frozen, time)};
}

std::vector<EpisodeReport> EpisodeTracker::on_state_read(const CgroupKey &key, std::uint64_t time,
                                                         std::string_view content, bool by_self,
                                                         std::uint32_t reader) {
    auto it = episodes_.find(key);
    if (it == episodes_.end())
        return {};
    auto &e = it->second;
    if (!by_self)
        ++e.counts.reads;
    auto frozen = reads_as_frozen(content);
    if (frozen == true)
        return became_frozen(key, time);
    if (frozen == false && e.phase == Phase::thaw_pending && !by_self && reader != 0 &&
        reader == e.thawer) {
        auto r = report(key, e, EpisodeOutcome::aborted, e.thaw_ns);
        episodes_.erase(it);
        return {r};
    }
    return {};
}

std::vector<EpisodeReport> EpisodeTracker::on_notify_frozen(const CgroupKey &key,
                                                            std::uint64_t time, bool frozen) {
    notified_[key] = Notification{time, frozen};
    if (frozen)
        return became_frozen(key, time);
    return {};
}

void EpisodeTracker::on_join(const CgroupKey &key, const Task &writer) {
    auto it = episodes_.find(key);
    if (it == episodes_.end())
        return;
    ++it->second.counts.joins;
    auto &joiners = it->second.joiners;
    for (auto &j : joiners)
        if (j.pid == writer.pid && j.comm == writer.comm) {
            ++j.joins;
            return;
        }
    if (joiners.size() < max_joiners)
        joiners.push_back(Joiner{writer.pid, writer.comm, 1});
}

void EpisodeTracker::set_forks(const CgroupKey &key, std::uint64_t forks,
                               std::vector<Forker> forkers) {
    auto it = episodes_.find(key);
    if (it == episodes_.end())
        return;
    it->second.counts.forks = forks;
    it->second.forkers = std::move(forkers);
}

std::vector<EpisodeReport> EpisodeTracker::on_removed(const CgroupKey &key, std::uint64_t time) {
    notified_.erase(key);
    auto it = episodes_.find(key);
    if (it == episodes_.end())
        return {};
    std::vector<EpisodeReport> out;
    // A frozen cgroup that is removed was reported frozen already; the episode just ends. One
    // thawed before it froze was given up before it was removed.
    if (it->second.phase == Phase::thaw_pending)
        out.push_back(report(key, it->second, EpisodeOutcome::aborted, it->second.thaw_ns));
    else if (it->second.phase == Phase::freezing)
        out.push_back(report(key, it->second, EpisodeOutcome::removed, time));
    episodes_.erase(it);
    return out;
}

std::vector<EpisodeReport> EpisodeTracker::tick(std::uint64_t now, const Liveness &alive) {
    std::vector<EpisodeReport> out;
    for (auto it = episodes_.begin(); it != episodes_.end();) {
        auto &e = it->second;
        auto since = now - e.thaw_ns;
        bool over = since >= config_.thaw_grace_alive_ns ||
                    (since >= config_.thaw_grace_ns && !(alive && e.thawer && alive(e.thawer)));
        if (e.phase == Phase::thaw_pending && over) {
            out.push_back(report(it->first, e, EpisodeOutcome::aborted, e.thaw_ns));
            it = episodes_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::vector<StallDue> EpisodeTracker::due_stalls(std::uint64_t now) {
    std::vector<StallDue> out;
    for (auto &[key, e] : episodes_) {
        if (e.phase != Phase::freezing || e.stall_reported ||
            now - e.start_ns < config_.stall_after_ns)
            continue;
        e.stall_reported = true;
        out.push_back(StallDue{key, e.cgroup, e.start_ns, e.counts, e.writer, e.blockers, e.joiners,
                               e.forkers});
    }
    return out;
}

std::vector<HeldDue> EpisodeTracker::due_held(std::uint64_t now) {
    std::vector<HeldDue> out;
    for (auto &[key, e] : episodes_) {
        if (e.phase == Phase::thaw_pending || e.held_reported ||
            now - e.start_ns < config_.held_after_ns)
            continue;
        e.held_reported = true;
        out.push_back(
            HeldDue{key, e.cgroup, e.start_ns, e.phase == Phase::frozen, e.counts, e.writer});
    }
    return out;
}

std::vector<PendingEpisode> EpisodeTracker::pending() const {
    std::vector<PendingEpisode> out;
    for (auto &[key, e] : episodes_)
        if (e.phase == Phase::freezing)
            out.push_back(
                PendingEpisode{key, e.cgroup, e.start_ns, !e.blockers.empty(),
                               e.blockers.empty() ? std::nullopt : e.blockers.front().cause});
    return out;
}

void EpisodeTracker::set_blockers(const CgroupKey &key, std::vector<Blocker> blockers) {
    if (auto it = episodes_.find(key); it != episodes_.end())
        it->second.blockers = std::move(blockers);
}

std::vector<EpisodeReport> EpisodeTracker::finish(std::uint64_t now) {
    std::vector<EpisodeReport> out;
    for (auto &[key, e] : episodes_) {
        if (e.phase == Phase::thaw_pending)
            out.push_back(report(key, e, EpisodeOutcome::aborted, e.thaw_ns));
        else if (e.phase == Phase::freezing)
            out.push_back(report(key, e, EpisodeOutcome::open, now));
    }
    episodes_.clear();
    return out;
}

} // namespace freezeprobe
