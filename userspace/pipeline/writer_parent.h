// The parent of a process that wrote a cgroup file (who drove the write: containerd-shim for
// runc, the kubelet, a CI script), read from /proc when the event is built. Best effort: a writer
// that already exited has no parent here.
#pragma once

#include "event_model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace freezeprobe {

// The parent pid (field 4) of a /proc/PID/stat text; nullopt when malformed.
std::optional<std::uint32_t> parse_stat_ppid(const std::string &stat_text);

// Looks the parent up in /proc, once per writer: runc's freeze loop writes 1000 times.
// /proc/PID/task/TID/stat must name the writer's comm (the thread that wrote), or the pid is
// taken for another process (reused, or a /proc of another pid namespace) and there is no
// parent. A cached entry is used only while the thread still has the same comm; the cache is
// emptied when it holds 1024 writers.
class WriterParents {
  public:
    explicit WriterParents(std::string proc_root = "/proc") : proc_(std::move(proc_root)) {}
    std::optional<TaskParent> of(std::uint32_t pid, std::uint32_t tid, const std::string &comm);

  private:
    std::optional<TaskParent> read(std::uint32_t pid, std::uint32_t tid,
                                   const std::string &comm) const;

    std::string proc_;
    std::unordered_map<std::uint32_t, std::pair<std::string, std::optional<TaskParent>>> cache_;
};

} // namespace freezeprobe
