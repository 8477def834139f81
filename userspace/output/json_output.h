// One JSON object per event, on one line, with the keys of docs/events.md. Strings from the
// kernel or the cgroup tree (paths, comms, written bytes) may hold any byte: invalid UTF-8 is
// replaced by U+FFFD and control characters are escaped, so every line is valid JSON.
#pragma once

#include "event_model.h"

#include <string>

namespace freezeprobe {

// Appends the line (without its newline) to out, which the caller reuses between events.
void append_json_line(std::string &out, const Event &event);
std::string to_json_line(const Event &event);

} // namespace freezeprobe
