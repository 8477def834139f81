#include "aggregator.h"

#include "errno_name.h"
#include "text_output.h"
#include "written_value.h"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

namespace freezeprobe {

void Log2Histogram::add(std::uint64_t value) {
    ++buckets[std::bit_width(value)];
    ++count;
    sum += value;
    max = std::max(max, value);
}

std::uint64_t Log2Histogram::bucket_top(std::size_t i) {
    return i == 0 ? 0 : i >= 64 ? UINT64_MAX : (std::uint64_t{1} << i) - 1;
}

std::uint64_t Log2Histogram::quantile(double q) const {
    if (count == 0)
        return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count) + 0.999999);
    rank = std::clamp<std::uint64_t>(rank, 1, count);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank)
            return std::min(bucket_top(i), max);
    }
    return max;
}

// Drops the least recently active cgroup with nothing to report (no failure, no stall), or else
// the least recently active one.
void Aggregator::make_room() {
    auto victim = cgroups_.end(), oldest = cgroups_.end();
    for (auto it = cgroups_.begin(); it != cgroups_.end(); ++it) {
        auto &s = it->second;
        if (oldest == cgroups_.end() || s.last_time_ns < oldest->second.last_time_ns)
            oldest = it;
        if (s.failures.empty() && s.stalls == 0 &&
            (victim == cgroups_.end() || s.last_time_ns < victim->second.last_time_ns))
            victim = it;
    }
    cgroups_.erase(victim != cgroups_.end() ? victim : oldest);
    ++cgroups_dropped_;
}

void Aggregator::count_episode(const EpisodeLabels &labels) {
    ++episodes_[labels];
    auto &id = std::get<2>(labels);
    if (id.empty())
        return;
    container_touched_[id] = ++episode_sequence_;
    if (container_touched_.size() <= max_containers)
        return;
    auto oldest = std::min_element(container_touched_.begin(), container_touched_.end(),
                                   [](auto &a, auto &b) { return a.second < b.second; });
    std::erase_if(episodes_,
                  [&](auto &series) { return std::get<2>(series.first) == oldest->first; });
    container_touched_.erase(oldest);
    ++containers_dropped_;
}

namespace {

// Updates the cgroup a CgroupStats describes, copying only when something changed (this runs
// for every event). Keeps what we know: a later event of a removed cgroup may have lost its path.
void remember_cgroup(CgroupRef &kept, const CgroupRef &seen) {
    bool same =
        kept.id == seen.id && kept.version == seen.version && kept.controllers == seen.controllers;
    if (same &&
        ((!seen.path && kept.path) || (kept.path == seen.path && kept.container == seen.container)))
        return;
    kept = seen;
}

} // namespace

CgroupStats &Aggregator::stats_for(const CgroupRef &cgroup) {
    if (!per_cgroup_) {
        // Nothing is kept per cgroup: one stand-in, of which only the cgroup is read back (for
        // the episode labels); what else it collects is bounded (a few files, errnos, outcomes,
        // max_failures failures).
        remember_cgroup(scratch_.cgroup, cgroup);
        return scratch_;
    }
    Key key{cgroup.version, cgroup.controllers, cgroup.id};
    if (!cgroups_.contains(key) && cgroups_.size() >= max_cgroups_ && max_cgroups_ > 0)
        make_room();
    auto &s = cgroups_[key];
    remember_cgroup(s.cgroup, cgroup);
    return s;
}

void Aggregator::add_failure(CgroupStats &s, Failure failure) {
    if (s.failures.size() < max_failures)
        s.failures.push_back(std::move(failure));
    else
        ++s.failures_dropped;
}

void Aggregator::add_write(const Event &event, ControlFile file, int err, std::uint64_t latency_ns,
                           std::optional<std::uint64_t> lock_wait_ns) {
    auto &s = stats_for(*event.cgroup);
    auto name = file_name(file);
    auto error = err ? errno_name(err).value_or("E" + std::to_string(err)) : std::string();
    auto &f = s.files[name];
    ++f.count;
    f.latency_ns.add(latency_ns);
    if (lock_wait_ns) {
        f.lock_wait_ns.add(*lock_wait_ns);
        lock_wait_[name].add(*lock_wait_ns);
    }
    if (err) {
        ++f.errors[error];
        ++write_errors_;
        // The failure's text only when there is a failure: formatting it costs more than the rest.
        add_failure(s, Failure{event.time_ns, "write-error", to_text_line(event)});
    }
    ++writes_[WriteLabels{name, error}];
    latency_[name].add(latency_ns);
}

void Aggregator::add(const Event &event) {
    if (auto *l = std::get_if<Lost>(&event.body)) {
        events_lost_ += l->count;
        return;
    }
    if (!event.cgroup)
        return;
    stats_for(*event.cgroup).last_time_ns = event.time_ns;
    if (auto *f = std::get_if<FreezeWrite>(&event.body)) {
        add_write(event,
                  event.cgroup->version == 1 ? ControlFile::freezer_state
                                             : ControlFile::cgroup_freeze,
                  f->err, f->latency_ns, f->lock_wait_ns);
    } else if (auto *p = std::get_if<ProcsWrite>(&event.body)) {
        add_write(event, p->file, p->err, p->latency_ns, p->lock_wait_ns);
    } else if (auto *st = std::get_if<FreezeStall>(&event.body)) {
        auto &s = stats_for(*event.cgroup);
        ++s.stalls;
        ++stalls_;
        add_failure(s, Failure{event.time_ns, "stall", st->diagnosis});
    } else if (auto *h = std::get_if<FreezeHeld>(&event.body)) {
        auto &s = stats_for(*event.cgroup);
        ++s.held;
        ++held_;
        add_failure(s, Failure{event.time_ns, "held", h->diagnosis});
    } else if (auto *ep = std::get_if<FreezeEpisode>(&event.body)) {
        auto &s = stats_for(*event.cgroup);
        auto outcome = outcome_name(ep->outcome);
        ++s.episodes[outcome];
        // The container as the stats keep it: a removed cgroup's last event may have lost it.
        auto &c = s.cgroup.container;
        auto text = [&](const std::optional<std::string> &s) { return c && s ? *s : ""; };
        count_episode(EpisodeLabels{outcome, event.cgroup->version == 1 ? "v1" : "v2",
                                    c ? c->id : "", c ? text(c->pod_uid) : "",
                                    c ? text(c->namespace_name) : "", c ? text(c->pod_name) : "",
                                    c ? text(c->name) : ""});
        if (ep->outcome == EpisodeOutcome::frozen) {
            s.freeze_latency_ns.add(ep->duration_ns);
            freeze_duration_.add(ep->duration_ns);
        }
        if (ep->outcome == EpisodeOutcome::aborted) {
            ++aborted_;
            add_failure(s, Failure{event.time_ns, "aborted", ep->diagnosis});
        }
    }
}

} // namespace freezeprobe
