// Who serves a FUSE connection: the processes holding an open /dev/fuse descriptor bound to it.
// /dev/fuse has no fdinfo of its own, so the binding comes from a BPF task-file iterator
// (bpf/fuse_daemons.bpf.c); without it, /proc only tells who holds /dev/fuse at all.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace freezeprobe {

struct FuseFd {
    std::uint32_t pid = 0;
    std::uint32_t fd = 0;
    // The connection number (/sys/fs/fuse/connections/N); nullopt when not known (the /proc
    // fallback) and 0 for a descriptor not mounted yet.
    std::optional<std::uint32_t> connection;
};

// The distinct pids serving a connection, lowest first. From /proc data (no connection known)
// only a single holder of /dev/fuse can be named with certainty.
std::vector<std::uint32_t> fuse_holders(const std::vector<FuseFd> &fds, std::uint32_t connection);

class FuseDaemons {
  public:
    FuseDaemons(); // tries to load the iterator
    ~FuseDaemons();
    // "task-file iterator" or "/proc (<why the iterator was refused>)"
    const std::string &method() const { return method_; }
    // Every open /dev/fuse descriptor now.
    std::vector<FuseFd> snapshot() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string method_;
};

} // namespace freezeprobe
