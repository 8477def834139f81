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
    // An unknown name never matches: a filter on names shows only what is known to be asked for.
    auto &c = event.cgroup->container;
    if (!namespace_name.empty() && !(c && c->namespace_name == namespace_name))
        return false;
    if (!pod_name.empty() && !(c && c->pod_name == pod_name))
        return false;
    return true;
}

} // namespace freezeprobe
