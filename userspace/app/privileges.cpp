#include "privileges.h"

#include "text_util.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

constexpr int cap_sys_admin = 21;
constexpr int cap_perfmon = 38;
constexpr int cap_bpf = 39;

std::string proc_status_field(const char *field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    std::string want = std::string(field) + ":";
    while (std::getline(in, line))
        if (line.starts_with(want))
            return std::string(trim(std::string_view(line).substr(want.size())));
    return {};
}

} // namespace

std::optional<std::string> missing_capabilities(std::string_view capeff_hex, bool root) {
    std::uint64_t caps = 0;
    try {
        caps = std::stoull(std::string(capeff_hex), nullptr, 16);
    } catch (...) {
        return "capabilities unreadable (no CapEff in /proc/self/status); run as root";
    }
    // CAP_SYS_ADMIN alone also allows BPF on kernels before 5.8, and everything after.
    std::vector<std::string> missing;
    bool admin = caps & (1ull << cap_sys_admin);
    if (!admin)
        missing.push_back("CAP_SYS_ADMIN");
    if (!(caps & (1ull << cap_bpf)) && !admin)
        missing.push_back("CAP_BPF");
    if (!(caps & (1ull << cap_perfmon)) && !admin)
        missing.push_back("CAP_PERFMON");
    if (missing.empty())
        return std::nullopt;
    std::string text;
    for (auto &m : missing)
        text += (text.empty() ? "" : ", ") + m;
    return text + (root ? " (running as root, but with a restricted capability set: run "
                          "with the full set, not under capsh --drop or a container's defaults)"
                        : " (run as root)");
}

std::optional<std::string> missing_capabilities() {
    return missing_capabilities(proc_status_field("CapEff"), ::geteuid() == 0);
}

std::optional<std::string> missing_btf(const char *path) {
    struct stat st {};
    if (::stat(path, &st) == 0 && st.st_size > 0)
        return std::nullopt;
    return std::string("kernel BTF not found at ") + path +
           " (the kernel needs CONFIG_DEBUG_INFO_BTF=y)";
}

} // namespace freezeprobe
