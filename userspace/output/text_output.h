// One human-readable line per event, for a terminal or a log. Every string from the kernel or the
// cgroup tree is escaped, so a hostile cgroup name cannot break the line or drive the terminal.
#pragma once

#include "event_model.h"

#include <string>

namespace freezeprobe {

std::string to_text_line(const Event &event);

} // namespace freezeprobe
