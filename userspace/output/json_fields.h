// JSON fragments that more than one output shares, so that a container looks the same in the
// JSON lines and in the summary report (docs/events.md), both written by the one JSON writer.
#pragma once

#include "container_resolver.h"
#include "json_writer.h"

#include <optional>

namespace freezeprobe {

// {"id","runtime","pod_uid","qos","name","pod_name","namespace","sandbox"} or null.
void write_container(JsonWriter &w, const std::optional<Container> &c);

} // namespace freezeprobe
