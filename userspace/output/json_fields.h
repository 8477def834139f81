// JSON fragments that more than one output shares, so that a container looks the same in the
// JSON lines and in the summary report (docs/events.md).
#pragma once

#include "container_resolver.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace freezeprobe {

// A string or null.
nlohmann::ordered_json nullable_json(const std::optional<std::string> &s);
// {"id","runtime","pod_uid","qos"} or null.
nlohmann::ordered_json container_json(const std::optional<Container> &c);

} // namespace freezeprobe
