#include "task_scan.h"

#include "bpf_probe.h"
#include "freezeprobe_events.h"
#include "task_scan_bpf.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace freezeprobe {

struct TaskScanner::Impl {
    task_scan_bpf *skel = nullptr;
    bpf_link *link = nullptr;
    ~Impl() {
        bpf_link__destroy(link);
        task_scan_bpf::destroy(skel);
    }
};

TaskScanner::TaskScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TaskScanner::~TaskScanner() = default;

std::unique_ptr<TaskScanner> TaskScanner::load() {
    auto impl = std::make_unique<Impl>();
    impl->skel = task_scan_bpf::open_and_load();
    if (!impl->skel)
        throw ProbeError(std::string("loading the task iterator: ") + std::strerror(errno), errno);
    impl->link = bpf_program__attach_iter(impl->skel->progs.scan_tasks, nullptr);
    if (!impl->link)
        throw ProbeError(std::string("attaching the task iterator: ") + std::strerror(errno),
                         errno);
    return std::unique_ptr<TaskScanner>(new TaskScanner(std::move(impl)));
}

std::map<std::uint32_t, TaskFreezeState> TaskScanner::snapshot() const {
    std::map<std::uint32_t, TaskFreezeState> tasks;
    int fd = bpf_iter_create(bpf_link__fd(impl_->link));
    if (fd < 0)
        return tasks;
    std::vector<char> bytes;
    char buf[16384];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
        bytes.insert(bytes.end(), buf, buf + n);
    ::close(fd);
    for (std::size_t off = 0; off + sizeof(fp_task_state) <= bytes.size();
         off += sizeof(fp_task_state)) {
        fp_task_state s;
        std::memcpy(&s, bytes.data() + off, sizeof(s));
        tasks[s.tid] = TaskFreezeState{s.pid,
                                       s.tid,
                                       s.state,
                                       s.flags,
                                       s.exit_state != 0 || (s.flags & 0x4) /* PF_EXITING */,
                                       s.v1_frozen != 0,
                                       s.v2_frozen != 0,
                                       s.v1_freezing != 0,
                                       s.v2_freezing != 0};
    }
    return tasks;
}

} // namespace freezeprobe
