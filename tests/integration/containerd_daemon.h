// Debian's containerd, started by a test with its own root, state and socket under a temporary
// directory (never the host's /run/containerd), driven with `ctr` in the k8s.io namespace, and
// stopped by its PID at the end. The state directory is <dir>/run/containerd, so that
// `--host-root <dir>` finds the bundles where a node keeps them. The CRI plugin is off: the tests
// write the CRI annotations themselves with `ctr run --annotation`, as the plugin would.
#pragma once

#include "subprocess.h"

#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace freezeprobe::testing {

class ContainerdDaemon {
  public:
    // Throws std::runtime_error when containerd does not answer within 10 s (after stopping it).
    explicit ContainerdDaemon(std::filesystem::path dir);
    // Deletes the containers it ran (thawing and killing their tasks), then stops containerd:
    // SIGTERM, SIGKILL after 5 s, by its PID. Never throws.
    ~ContainerdDaemon();
    ContainerdDaemon(const ContainerdDaemon &) = delete;
    ContainerdDaemon &operator=(const ContainerdDaemon &) = delete;

    // ctr --address <socket> --namespace k8s.io <args...>
    ProcessResult ctr(const std::vector<std::string> &args);
    // Builds a one-layer OCI image archive of the static busybox (sh, sleep, cat) and imports it;
    // returns its name. Throws on failure.
    std::string import_busybox();
    // ctr run -d with the native snapshotter and no resource limits (so that it needs no
    // controller in the cgroup); remembers the id for cleanup. Throws on failure.
    void run(const std::string &id, const std::string &cgroup,
             const std::vector<std::pair<std::string, std::string>> &annotations,
             const std::vector<std::string> &mounts, const std::vector<std::string> &args);
    // Kills and deletes one container's task and the container (resumes it first).
    void remove(std::string id);

    const std::filesystem::path &dir() const { return dir_; }
    std::string bundle(const std::string &id) const;
    const std::string &log() const;

  private:
    void stop() noexcept;

    std::filesystem::path dir_;
    std::string socket_;
    pid_t pid_ = -1;
    std::vector<std::string> containers_;
    mutable std::string log_;
};

// Both binaries installed (Debian package containerd).
bool containerd_installed();

} // namespace freezeprobe::testing
