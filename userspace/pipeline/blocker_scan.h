// Which tasks hold a freeze up: the tasks of a cgroup and its descendants that are not frozen,
// with what /proc says about where they sleep. Frozen, stopped, traced and exiting tasks are not
// blockers. Whether a task is frozen comes from the BPF task iterator when the kernel allows it,
// else from /proc (wchan __refrigerator for v1, the freezer trap for v2), which is less exact.
#pragma once

#include "cgroup_hierarchies.h"
#include "event_model.h"
#include "task_scan.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace freezeprobe {

// What one scan found. Without the task iterator, /proc cannot tell a blocker from a task that is
// merely thawed, so the caller must see the cgroup freezing before and after the scan.
struct BlockerScan {
    bool scanned = false; // false: nothing was looked at (/proc, and the cgroup not freezing)
    // The scan's own verdict on whether the cgroup was freezing while it looked (the task
    // iterator reads each task's freezer request with its state); nullopt: it cannot tell.
    std::optional<bool> freezing;
    std::vector<Blocker> blockers;
};

class BlockerScanner {
  public:
    BlockerScanner(); // tries to load the task iterator
    ~BlockerScanner();
    // "task iterator" or "/proc heuristics (<why the iterator was refused>)"
    const std::string &method() const { return method_; }

    // The tasks of the cgroup and its descendants that its freezer asks to freeze and that are
    // not frozen. cgroup_reads_freezing: what the cgroup's state file said just before; the
    // task iterator does not need it, the /proc fallback scans only when it is true.
    BlockerScan scan(const Hierarchy &hierarchy, const std::string &cgroup_path,
                     bool cgroup_reads_freezing) const;
    static constexpr std::size_t max_blockers = 64;

  private:
    std::unique_ptr<TaskScanner> tasks_;
    std::string method_;
};

// Parses /proc/TID/stat text into comm and state letter; false if malformed.
bool parse_proc_stat(const std::string &text, std::string &comm, std::string &state);
// "[<0>] request_wait_answer+0xd6/0x290" lines -> "request_wait_answer+0xd6/0x290"
std::vector<std::string> parse_kernel_stack(const std::string &text);

} // namespace freezeprobe
