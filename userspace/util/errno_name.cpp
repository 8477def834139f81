#include "errno_name.h"

#include <cstring>

namespace freezeprobe {

std::optional<std::string> errno_name(int err) {
    if (err == 0)
        return std::nullopt;
    if (const char *name = strerrorname_np(err))
        return std::string(name);
    return std::nullopt;
}

} // namespace freezeprobe
