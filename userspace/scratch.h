// Scratch cgroups and processes that the demo and the tests create, and always remove: a
// ScratchCgroup thaws and removes what it made; a SleeperProcess kills its own child by PID.
#pragma once

#include "cgroup_hierarchies.h"

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace freezeprobe {

// Names like a runtime's: n random lowercase hex digits (a container id is 64), and a pod UID.
std::string random_hex(std::size_t n);
std::string random_uuid();
// A pid that names no process: a child that has exited and been reaped.
pid_t vanished_pid();

// Writes data to path with one write(2); returns 0 or the errno.
int write_control_file(const std::string &path, std::string_view data);
// Like write_control_file but throws std::system_error naming the path.
void write_control_file_or_throw(const std::string &path, std::string_view data);
std::string read_control_file(const std::string &path);

class ScratchCgroup {
  public:
    // Creates every missing directory of relative_path ("/a/b/c") under the hierarchy's mount.
    ScratchCgroup(const Hierarchy &hierarchy, std::string relative_path);
    ~ScratchCgroup();
    ScratchCgroup(const ScratchCgroup &) = delete;
    ScratchCgroup &operator=(const ScratchCgroup &) = delete;

    const std::string &path() const { return relative_path_; } // from the hierarchy root
    std::string dir() const { return mount_point_ + relative_path_; }
    std::string file(std::string_view name) const { return dir() + "/" + std::string(name); }
    int version() const { return version_; }
    // Thaws, moves leftover tasks to the hierarchy root and removes the directories it created.
    void remove();

  private:
    std::string mount_point_;
    std::string relative_path_;
    int version_;
    std::vector<std::string> created_; // outermost first
};

// Thaws a cgroup when it goes out of scope. Declared after the processes of a test or demo step
// and before what blocks them (a HangFuse), so that on any exit the blocker is released first,
// then the cgroup thawed (a task frozen by the v1 freezer dies only once thawed), then the
// processes killed and reaped.
class ThawGuard {
  public:
    explicit ThawGuard(const ScratchCgroup &cg) : cg_(cg) {}
    ~ThawGuard();
    ThawGuard(const ThawGuard &) = delete;
    ThawGuard &operator=(const ThawGuard &) = delete;

  private:
    const ScratchCgroup &cg_;
};

// A child process that sleeps until killed; killed and reaped by its own PID on destruction.
class SleeperProcess {
  public:
    SleeperProcess();
    ~SleeperProcess();
    SleeperProcess(const SleeperProcess &) = delete;
    SleeperProcess &operator=(const SleeperProcess &) = delete;
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_;
};

} // namespace freezeprobe
