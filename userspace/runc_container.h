// A real OCI container run by the host's runc binary, for the demo and the integration tests: a
// busybox rootfs in a temporary bundle, a private runc state directory, and a cleanup that is
// bounded even when the container is stuck (frozen, or blocked in a FUSE read). runc is always
// started by fork/exec with an argv, never through a shell, and only that child is ever killed.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe {

struct RuncBindMount {
    std::string source, destination;
    bool read_only = true;
};

struct RuncContainerSpec {
    std::string id; // container id, e.g. 64 lowercase hex
    // OCI linux.cgroupsPath, kubelet cgroupfs style, e.g.
    // "/freezeprobe-test-1/kubepods/burstable/pod<uid>/<id>". On a v1 or hybrid host runc creates
    // it in every hierarchy (with cgroup2 below: in the cgroup2 one only); the parents it created
    // are removed on destruction when the first component starts with "freezeprobe-".
    std::string cgroups_path;
    std::vector<std::string> args = {"/bin/sleep", "3600"}; // container init process
    std::vector<RuncBindMount> mounts; // extra bind mounts (e.g. a FUSE mount to read from inside)
    // Run runc where /sys/fs/cgroup is the cgroup2 mount, so that it uses cgroup v2 only (its
    // freezer is cgroup.freeze) even on a hybrid host: every runc invocation of this container
    // enters a private mount namespace in which the host's cgroup2 mount is bound onto
    // /sys/fs/cgroup (`runc spec` then adds a cgroup namespace, as on a cgroup v2 host). runc
    // enables every controller of the v2 root (on a hybrid host: those no v1 hierarchy holds, e.g.
    // hugetlb) in the subtree_control of each parent of the cgroupsPath, the root included;
    // cleanup disables at the root what runc enabled there, unless a cgroup below still enables it
    // for its own children. No namespace where /sys/fs/cgroup is already the cgroup2 mount; throws
    // if no cgroup2 hierarchy is mounted.
    bool cgroup2 = false;
    // OCI annotations of the container (e.g. the ones CRI-O writes).
    std::map<std::string, std::string> annotations;
    // Where the bundle (config.json, rootfs/) goes, e.g. CRI-O's
    // <root>/run/containers/storage/overlay-containers/<id>/userdata; created if missing and
    // removed with the container. Empty: in the container's own temporary directory.
    std::string bundle_dir;
};

struct RuncResult {
    int exit_code; // -1 when runc was killed (timeout) or could not be started
    std::string out, err;
};

// Path of the runc binary (PATH, then the usual sbin directories); nullopt if not installed.
std::optional<std::string> find_runc();
// An executable called name in PATH or the usual bin directories; nullopt if none.
std::optional<std::string> find_program(const std::string &name);
// First line of `name --version` ("crun version 1.8.1"), "" if not installed.
std::string program_version(const std::string &name);
// First line of `runc --version`, "" if none.
std::string runc_version();

class RuncContainer {
  public:
    // Builds the bundle and runs the container detached (`runc run -d`, stdio on /dev/null).
    // Throws std::runtime_error with runc's error output on failure, after cleaning up.
    explicit RuncContainer(RuncContainerSpec spec);
    // Never throws, never hangs: thaws (v1: runc resume, then freezer.state; cgroup2: cgroup.freeze
    // 0 directly, since runc waits 10 s on a cgroup that is still freezing), `runc delete
    // --force`, removes the cgroup directories and the bundle and state directories. Problems are
    // reported on stderr. A container whose task is stuck in D state (e.g. a FUSE read that
    // SIGKILL cannot end) survives runc delete: cleanup then gives up after ~14 s and leaves the
    // leaf cgroup, so release the blocker (answer or fail the FUSE reads, abort the connection)
    // BEFORE destroying the container.
    ~RuncContainer();
    RuncContainer(const RuncContainer &) = delete;
    RuncContainer &operator=(const RuncContainer &) = delete;

    // Runs `runc --root <private root> <runc_args...>`, capturing stdout and stderr; on timeout
    // the runc process is killed by its PID and exit_code is -1.
    RuncResult run(std::vector<std::string> runc_args,
                   std::chrono::seconds timeout = std::chrono::seconds(30));
    // runc pause <id>. v1: runc retries 1000 times, then thaws and fails with "unable to freeze".
    // cgroup2: runc writes cgroup.freeze once, polls cgroup.events for 10 s, then fails with
    // "timeout of 10s reached waiting for the cgroup to freeze" and leaves cgroup.freeze at 1;
    // until the freeze completes, every runc command that reads the container's status (state,
    // exec, pause, resume) also waits 10 s and fails with that message.
    RuncResult pause();
    RuncResult resume(); // runc resume <id>
    // runc exec [--ignore-paused] <id> args... (an exec into a frozen container blocks until the
    // timeout).
    RuncResult exec(std::vector<std::string> args, bool ignore_paused = false,
                    std::chrono::seconds timeout = std::chrono::seconds(30));
    // The "pid" of `runc state`; throws std::runtime_error if runc cannot tell.
    pid_t init_pid();
    const RuncContainerSpec &spec() const { return spec_; }
    // The temporary directory that holds the bundle and runc's state (removed on destruction).
    const std::string &work_dir() const { return work_dir_; }

  private:
    void cleanup() noexcept;

    RuncContainerSpec spec_;
    std::string runc_;
    std::string work_dir_;    // <tmp>/freezeprobe-runc-XXXXXX
    std::string bundle_;      // work_dir_/bundle (config.json, rootfs/)
    std::string root_;        // work_dir_/state (runc --root)
    std::string v2_root_;     // spec_.cgroup2: the host's cgroup2 mount point, else empty
    std::string bind_source_; // bound onto /sys/fs/cgroup in runc's mount namespace, or empty
};

} // namespace freezeprobe
