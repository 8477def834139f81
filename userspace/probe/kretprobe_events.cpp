#include "kretprobe_events.h"

#include "read_file.h"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <linux/perf_event.h>
#include <signal.h>
#include <sstream>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {
namespace {

constexpr const char *group = "freezeprobe";

// Appends one command to kprobe_events (never truncating it: that would remove every kprobe
// event of the node). Returns 0 or the errno.
int kprobe_events_command(const std::string &tracefs, const std::string &command) {
    int fd = ::open((tracefs + "/kprobe_events").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = 0;
    if (::write(fd, command.data(), command.size()) != static_cast<ssize_t>(command.size()))
        err = errno ? errno : EIO;
    ::close(fd);
    return err;
}

} // namespace

std::optional<std::string> writable_tracefs() {
    for (const char *dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
        if (::access((std::string(dir) + "/kprobe_events").c_str(), W_OK) == 0)
            return std::string(dir);
    return std::nullopt;
}

KretprobeEvent::KretprobeEvent(const std::string &tracefs, const std::string &symbol, int maxactive)
    : tracefs_(tracefs) {
    static std::atomic<int> sequence{0};
    name_ = fmt::format("fp_{}_{}", ::getpid(), sequence++);
    if (int err = kprobe_events_command(
            tracefs_, fmt::format("r{}:{}/{} {}\n", maxactive, group, name_, symbol)))
        throw std::system_error(err, std::generic_category(),
                                "creating a kretprobe on " + symbol + " in kprobe_events");
    std::string id_text = read_file(fmt::format("{}/events/{}/{}/id", tracefs_, group, name_));
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    try {
        attr.config = std::stoull(id_text);
    } catch (const std::exception &) {
        kprobe_events_command(tracefs_, fmt::format("-:{}/{}\n", group, name_));
        throw std::system_error(ENOENT, std::generic_category(),
                                "reading the id of kretprobe event " + name_);
    }
    perf_fd_ =
        static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (perf_fd_ < 0) {
        int err = errno;
        kprobe_events_command(tracefs_, fmt::format("-:{}/{}\n", group, name_));
        throw std::system_error(err, std::generic_category(),
                                "opening the perf event of kretprobe " + name_);
    }
}

KretprobeEvent::~KretprobeEvent() {
    if (perf_fd_ >= 0)
        ::close(perf_fd_);
    kprobe_events_command(tracefs_, fmt::format("-:{}/{}\n", group, name_));
}

void remove_stale_kretprobe_events(const std::string &tracefs) {
    std::istringstream in(read_file(tracefs + "/kprobe_events"));
    std::string line;
    // Lines are "r4096:freezeprobe/fp_<pid>_<n> <symbol>+0".
    const std::string marker = std::string(":") + group + "/fp_";
    while (std::getline(in, line)) {
        auto at = line.find(marker);
        auto end = line.find(' ');
        if (at == std::string::npos || end == std::string::npos || end < at)
            continue;
        std::string name = line.substr(at + 1 + std::string(group).size() + 1,
                                       end - at - 2 - std::string(group).size());
        int pid = 0;
        if (std::sscanf(name.c_str(), "fp_%d_", &pid) != 1 || pid <= 0)
            continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH)
            continue; // alive (or not ours to know)
        kprobe_events_command(tracefs, fmt::format("-:{}/{}\n", group, name));
    }
}

} // namespace freezeprobe
