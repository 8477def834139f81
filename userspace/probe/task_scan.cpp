#include "task_scan.h"

#include "bpf_probe.h"
#include "freezeprobe_events.h"
#include "task_scan_bpf.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace freezeprobe {

struct TaskScanner::Impl {
    task_scan_bpf *skel = nullptr;
    bpf_link *link = nullptr;
    bool single_tasks = false;
    ~Impl() {
        bpf_link__destroy(link);
        task_scan_bpf::destroy(skel);
    }
};

namespace {

// Task iterators take a tid or pid (union bpf_iter_link_info.task) from 6.1, which added enum
// bpf_iter_task_type with it. An older kernel ignores the parameter and walks every task, so it
// is checked in the kernel's BTF rather than by trying.
bool kernel_parameterises_task_iterators() {
    btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux)
        return false;
    bool found = btf__find_by_name_kind(vmlinux, "bpf_iter_task_type", BTF_KIND_ENUM) >= 0;
    btf__free(vmlinux);
    return found;
}

// FREEZEPROBE_TASK_SCAN=walk makes this kernel scan as one before 6.1 does (one walk of every
// task), so that the older kernels' cost can be measured here (freezeprobe_scan_bench --walk).
bool walk_forced() {
    const char *how = std::getenv("FREEZEPROBE_TASK_SCAN");
    return how && std::string_view(how) == "walk";
}

// Appends what one iterator instance of link wrote.
void read_iterator(bpf_link *link, std::vector<char> &bytes) {
    int fd = bpf_iter_create(bpf_link__fd(link));
    if (fd < 0)
        return;
    char buf[16384];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
        bytes.insert(bytes.end(), buf, buf + n);
    ::close(fd);
}

std::map<std::uint32_t, TaskFreezeState> decode(const std::vector<char> &bytes) {
    std::map<std::uint32_t, TaskFreezeState> tasks;
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

} // namespace

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
    impl->single_tasks = kernel_parameterises_task_iterators() && !walk_forced();
    return std::unique_ptr<TaskScanner>(new TaskScanner(std::move(impl)));
}

std::map<std::uint32_t, TaskFreezeState> TaskScanner::snapshot() const {
    std::vector<char> bytes;
    read_iterator(impl_->link, bytes);
    return decode(bytes);
}

std::map<std::uint32_t, TaskFreezeState>
TaskScanner::snapshot(const std::vector<std::uint32_t> &tids) const {
    if (!impl_->single_tasks || tids.size() > max_single_task_iterations)
        return snapshot();
    std::vector<char> bytes;
    for (auto tid : tids) {
        union bpf_iter_link_info info = {};
        info.task.tid = tid;
        DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
                            .link_info_len = sizeof(info));
        bpf_link *one = bpf_program__attach_iter(impl_->skel->progs.scan_tasks, &opts);
        if (!one)
            continue; // gone
        read_iterator(one, bytes);
        bpf_link__destroy(one);
    }
    return decode(bytes);
}

bool TaskScanner::iterates_single_tasks() const {
    return impl_->single_tasks;
}

} // namespace freezeprobe
