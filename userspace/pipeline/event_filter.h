// --cgroup, --container, --namespace and --pod: which events the user asked to see.
#pragma once

#include "event_model.h"

#include <string>

namespace freezeprobe {

struct EventFilter {
    std::string cgroup_prefix;    // path prefix from the hierarchy root, whole components
    std::string container_prefix; // container id prefix
    std::string namespace_name;   // Kubernetes namespace, whole; "" for any
    std::string pod_name;         // Kubernetes pod name, whole; "" for any

    // Lost events always pass: losing events is never filtered away.
    bool matches(const Event &event) const;
};

} // namespace freezeprobe
