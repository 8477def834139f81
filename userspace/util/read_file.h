// The one whole-file reader: control files, /proc and /sys files, mountinfo, logs.
#pragma once

#include <string>

namespace freezeprobe {

// The file's whole content; "" when it cannot be opened or read (a task that exited, a cgroup
// removed meanwhile): callers treat an empty text as "nothing known".
std::string read_file(const std::string &path);

} // namespace freezeprobe
