// A loop device set up on a file with losetup (util-linux's, or busybox's in the VM), detached on
// destruction.
#pragma once

#include <string>

namespace freezeprobe::testing {

class LoopDevice {
  public:
    // Read-only, on the first free device. Throws std::runtime_error when losetup is missing or
    // fails.
    explicit LoopDevice(const std::string &file);
    ~LoopDevice();
    LoopDevice(const LoopDevice &) = delete;
    LoopDevice &operator=(const LoopDevice &) = delete;
    const std::string &path() const { return path_; } // /dev/loopN
    // losetup -d (what the destructor does), for a device this process did not set up.
    static void detach(const std::string &device);

  private:
    std::string losetup_;
    std::string path_;
};

} // namespace freezeprobe::testing
