// Errno names as the kernel's headers spell them, for every output.
#pragma once

#include <optional>
#include <string>

namespace freezeprobe {

// "EINVAL" for 22; nullopt for 0 or a number the C library does not name.
std::optional<std::string> errno_name(int err);

} // namespace freezeprobe
