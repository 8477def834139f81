// Turns raw kernel records into resolved events: cgroup path and container from the resolvers,
// wall-clock time, errno, the written value. Cgroup tracepoint records only update state here
// (the path cache, and which cgroups have a freeze requested); they produce no event yet.
#pragma once

#include "cgroup_resolver.h"
#include "event_model.h"
#include "records.h"
#include "time_format.h"

#include <optional>
#include <set>
#include <utility>

namespace freezeprobe {

class EventBuilder {
  public:
    EventBuilder(CgroupResolver &resolver, WallClock clock) : resolver_(resolver), clock_(clock) {}

    std::optional<Event> on_record(const Record &record);
    Event lost(std::uint64_t count) const;

  private:
    std::optional<Event> on_write(const WriteRecord &w);
    void on_cgroup(const CgroupRecord &c);
    CgroupRef cgroup_ref(const Hierarchy *h, int version, std::uint64_t id);

    using Key = std::pair<std::uint32_t, std::uint64_t>; // (hierarchy dev, cgroup id)
    CgroupResolver &resolver_;
    WallClock clock_;
    std::set<Key> freeze_requested_;
};

} // namespace freezeprobe
