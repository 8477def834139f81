// JSON fragments that more than one output shares, so that a container looks the same in the
// JSON lines and in the summary report (docs/events.md). The container is written by the
// one JSON writer (json_writer.h); the reports, which build a tree, take its text.
#pragma once

#include "container_resolver.h"
#include "json_writer.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace freezeprobe {

// A string or null.
nlohmann::ordered_json nullable_json(const std::optional<std::string> &s);
// {"id","runtime","pod_uid","qos","name","pod_name","namespace","sandbox"} or null.
void write_container(JsonWriter &w, const std::optional<Container> &c);
// The same, as a tree for the reports.
nlohmann::ordered_json container_json(const std::optional<Container> &c);

} // namespace freezeprobe
