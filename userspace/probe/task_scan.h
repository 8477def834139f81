// The libbpf wall for the task iterator (bpf/task_scan.bpf.c): a snapshot of every user task's
// freezer state, taken on demand when a freeze stalls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

namespace freezeprobe {

struct TaskFreezeState {
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::uint32_t state = 0;
    std::uint32_t flags = 0;
    bool exiting = false;
    bool v1_frozen = false;
    bool v2_frozen = false;
    // Its freezer asks for it to be frozen (read with the rest, at the same moment).
    bool v1_freezing = false;
    bool v2_freezing = false;
    // Stopped and traced tasks do not hold a freeze up (v2 counts them frozen; v1 freezes
    // them in place since 6.1).
    bool stopped_or_traced() const { return state & (0x4 | 0x8); }
};

class TaskScanner {
  public:
    // Loads the iterator; throws ProbeError when the kernel refuses it.
    static std::unique_ptr<TaskScanner> load();
    ~TaskScanner();
    // tid -> state of every user task now.
    std::map<std::uint32_t, TaskFreezeState> snapshot() const;

  private:
    struct Impl;
    explicit TaskScanner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace freezeprobe
