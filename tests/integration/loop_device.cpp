#include "loop_device.h"

#include "process.h"
#include "subprocess.h"
#include "text_util.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

namespace freezeprobe::testing {
namespace {

std::string losetup() {
    auto path = find_program("losetup");
    if (!path)
        throw std::runtime_error("losetup is not installed (util-linux)");
    return *path;
}

} // namespace

LoopDevice::LoopDevice(const std::string &file) : losetup_(losetup()) {
    // Short options both util-linux's and busybox's (the VM's) losetup take: the first free
    // device, then the file on it, read-only. Another process (a second test run) may take that
    // device in between, or be setting it up: EBUSY; then the next free one is tried.
    for (int attempt = 1;; ++attempt) {
        auto free = run_process({losetup_, "-f"});
        if (free.exit_code != 0)
            throw std::runtime_error(
                fmt::format("losetup -f exited {}: {}", free.exit_code, free.err));
        auto device = std::string(trim(free.out));
        auto r = run_process({losetup_, "-r", device, file});
        if (r.exit_code == 0) {
            path_ = device;
            return;
        }
        bool busy = r.err.find(std::strerror(EBUSY)) != std::string::npos;
        if (!busy || attempt == 5)
            throw std::runtime_error(
                fmt::format("losetup -r {} {} exited {}: {}", device, file, r.exit_code, r.err));
    }
}

LoopDevice::~LoopDevice() {
    run_process({losetup_, "-d", path_});
}

void LoopDevice::detach(const std::string &device) {
    run_process({losetup(), "-d", device});
}

} // namespace freezeprobe::testing
