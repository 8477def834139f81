// Which tasks hold a freeze up: the tasks of a cgroup and its descendants that are not frozen,
// with what /proc says about where they sleep. Frozen, stopped, traced and exiting tasks are not
// blockers. Whether a task is frozen comes from the BPF task iterator when the kernel allows it,
// else from /proc (wchan __refrigerator for v1, the freezer trap for v2), which is less exact.
#pragma once

#include "cgroup_hierarchies.h"
#include "event_model.h"
#include "task_scan.h"

#include <memory>
#include <string>
#include <vector>

namespace freezeprobe {

class BlockerScanner {
  public:
    BlockerScanner(); // tries to load the task iterator
    ~BlockerScanner();
    // "task iterator" or "/proc heuristics (<why the iterator was refused>)"
    const std::string &method() const { return method_; }

    std::vector<Blocker> scan(const Hierarchy &hierarchy, const std::string &cgroup_path) const;
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
