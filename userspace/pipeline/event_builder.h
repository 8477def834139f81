// Resolves raw kernel records: the cgroup key and path, the container, wall-clock time, errno,
// the written value; builds the events the sinks print. Cgroup tracepoints keep the path cache
// current. The freeze state itself lives in EpisodeTracker; ProbeSession wires the two.
#pragma once

#include "cgroup_resolver.h"
#include "container_names.h"
#include "episode_tracker.h"
#include "event_model.h"
#include "writer_parent.h"
#include "records.h"
#include "time_format.h"

#include <optional>

namespace freezeprobe {

class EventBuilder {
  public:
    // namer: where containers get their Kubernetes names; null for none.
    EventBuilder(CgroupResolver &resolver, WallClock clock, ContainerNamer *namer = nullptr)
        : resolver_(resolver), clock_(clock), namer_(namer) {}

    CgroupKey key_of(const IoRecord &r) const;
    // nullopt when the tracepoint's hierarchy is not mounted here.
    std::optional<CgroupKey> key_of(const CgroupRecord &r) const;
    const Hierarchy *hierarchy_of(const CgroupKey &key) const {
        return resolver_.by_dev(key.first);
    }
    CgroupRef cgroup_ref(const IoRecord &r);

    // The record's writer, with its parent from /proc.
    Task writer(const IoRecord &r);
    // freeze_write or procs_write.
    Event write_event(const IoRecord &r, const CgroupRef &cgroup, bool during_freeze);
    // Path cache upkeep from a tracepoint.
    void learn(const CgroupRecord &r);
    Event lost(std::uint64_t count) const;
    Event stall_event(const StallDue &due, std::vector<Blocker> blockers, std::uint64_t now) const;
    Event episode_event(const EpisodeReport &report) const;
    Event held_event(const HeldDue &due, std::uint64_t now) const;

    const WallClock &clock() const { return clock_; }
    // The container's Kubernetes names, from the namer's cache.
    void name(std::optional<Container> &c) const {
        if (c && namer_)
            namer_->name(*c);
    }

  private:
    CgroupResolver &resolver_;
    WallClock clock_;
    WriterParents parents_;
    ContainerNamer *namer_;
};

} // namespace freezeprobe
