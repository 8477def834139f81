#include "event_filter.h"

#include "text_util.h"

namespace freezeprobe {

bool EventFilter::matches(const Event &event) const {
    if (!event.cgroup)
        return true;
    if (!cgroup_prefix.empty() &&
        !(event.cgroup->path && starts_with_path(*event.cgroup->path, cgroup_prefix)))
        return false;
    if (!container_prefix.empty() &&
        !(event.cgroup->container && event.cgroup->container->id.starts_with(container_prefix)))
        return false;
    return true;
}

} // namespace freezeprobe
