// The libbpf wall for the task iterator (bpf/task_scan.bpf.c): a snapshot of the freezer state of
// every user task that a freezer asks to freeze, taken on demand when a freeze stalls. The kernel
// side leaves out the others, so the cost follows the frozen cgroups, not the node's size.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

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
    // tid -> state of every user task whose v1 or v2 freezer asks it to freeze now (tasks not
    // listed are not being frozen). A walk of every task on the node.
    std::map<std::uint32_t, TaskFreezeState> snapshot() const;
    // The same for these tids only. Where the kernel parameterises task iterators (6.1 and
    // later), each tid is its own one-task iteration, so the cost follows the number of tids, not
    // the number of tasks on the node; elsewhere, or past max_single_task_iterations tids, it is
    // one walk of every task.
    std::map<std::uint32_t, TaskFreezeState> snapshot(const std::vector<std::uint32_t> &tids) const;
    static constexpr std::size_t max_single_task_iterations = 256;
    // Whether snapshot(tids) iterates task by task here (never with FREEZEPROBE_TASK_SCAN=walk in
    // the environment, which measures the walk kernels before 6.1 make on a newer one).
    bool iterates_single_tasks() const;

  private:
    struct Impl;
    explicit TaskScanner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace freezeprobe
