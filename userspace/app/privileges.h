// What the kernel will let us do, checked before anything is attached so that the user gets one
// clear line instead of a verifier dump.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace freezeprobe {

// nullopt when the process may load and attach BPF programs; otherwise what is missing, e.g.
// "CAP_BPF, CAP_PERFMON (run as root)". capeff is the CapEff field of /proc/self/status. For
// root (uid 0) whose capabilities were dropped, "run as root" would not help: the message says
// that the capability set is restricted instead.
std::optional<std::string> missing_capabilities(std::string_view capeff_hex, bool root = false);
std::optional<std::string> missing_capabilities();

constexpr const char *kernel_btf_path = "/sys/kernel/btf/vmlinux";
// nullopt when the kernel exposes BTF (needed for CO-RE); otherwise the reason.
std::optional<std::string> missing_btf(const char *path = kernel_btf_path);

} // namespace freezeprobe
