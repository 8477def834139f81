// Ring-buffer bytes -> Record. The layout is defined once, in bpf/freezeprobe_events.h.
#include "records.h"

#include "freezeprobe_events.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace freezeprobe {
namespace {

// Kernel strings are NUL-terminated within a fixed array; never read past the array.
std::string fixed_string(const char *chars, std::size_t capacity) {
    return std::string(chars, strnlen(chars, capacity));
}

ControlFile control_file(std::uint16_t file) {
    switch (file) {
    case FP_FILE_FREEZER_STATE:
        return ControlFile::freezer_state;
    case FP_FILE_CGROUP_FREEZE:
        return ControlFile::cgroup_freeze;
    case FP_FILE_CGROUP_PROCS:
        return ControlFile::cgroup_procs;
    case FP_FILE_TASKS:
        return ControlFile::tasks;
    case FP_FILE_CGROUP_THREADS:
        return ControlFile::cgroup_threads;
    case FP_FILE_CGROUP_EVENTS:
        return ControlFile::cgroup_events;
    default:
        return ControlFile::unknown;
    }
}

std::optional<CgroupOp> cgroup_op(std::uint32_t op) {
    switch (op) {
    case FP_CG_FREEZE:
        return CgroupOp::freeze;
    case FP_CG_UNFREEZE:
        return CgroupOp::unfreeze;
    case FP_CG_NOTIFY_FROZEN:
        return CgroupOp::notify_frozen;
    case FP_CG_ATTACH_TASK:
        return CgroupOp::attach_task;
    case FP_CG_MKDIR:
        return CgroupOp::mkdir;
    case FP_CG_RMDIR:
        return CgroupOp::rmdir;
    case FP_CG_RELEASE:
        return CgroupOp::release;
    default:
        return std::nullopt;
    }
}

IoRecord decode_io(const fp_io_event &e) {
    IoRecord r;
    r.is_read = e.hdr.type == FP_EVENT_READ;
    r.mono_ns = e.hdr.time_ns;
    r.latency_ns = e.latency_ns;
    r.cgroup_id = e.cgroup_id;
    r.ret = e.ret;
    r.count = e.count;
    r.pid = e.pid;
    r.tid = e.tid;
    r.dev = e.dev;
    r.file = control_file(e.file);
    r.cgroup_version = e.cgroup_version;
    r.data_fault = (e.flags & FP_WRITE_DATA_FAULT) != 0;
    if (e.flags & FP_IO_LOCK_WAIT)
        r.lock_wait_ns = e.lock_wait_ns;
    r.comm = fixed_string(e.comm, sizeof(e.comm));
    r.data.assign(e.data, std::min<std::size_t>(e.data_len, sizeof(e.data)));
    return r;
}

CgroupRecord decode_cgroup(const fp_cgroup_event &e, CgroupOp op) {
    CgroupRecord r;
    r.mono_ns = e.hdr.time_ns;
    r.cgroup_id = e.cgroup_id;
    r.hierarchy_id = e.hierarchy_id;
    r.level = e.level;
    r.op = op;
    r.val = e.val;
    r.pid = e.pid;
    r.tid = e.tid;
    r.task_pid = e.task_pid;
    r.task_tid = e.task_tid;
    r.comm = fixed_string(e.comm, sizeof(e.comm));
    r.task_comm = fixed_string(e.task_comm, sizeof(e.task_comm));
    r.path.assign(e.path, std::min<std::size_t>(e.path_len, sizeof(e.path)));
    return r;
}

} // namespace

const char *file_name(ControlFile file) {
    switch (file) {
    case ControlFile::freezer_state:
        return "freezer.state";
    case ControlFile::cgroup_freeze:
        return "cgroup.freeze";
    case ControlFile::cgroup_procs:
        return "cgroup.procs";
    case ControlFile::tasks:
        return "tasks";
    case ControlFile::cgroup_threads:
        return "cgroup.threads";
    case ControlFile::cgroup_events:
        return "cgroup.events";
    case ControlFile::unknown:
        break;
    }
    return "unknown";
}

bool is_freeze_file(ControlFile file) {
    return file == ControlFile::freezer_state || file == ControlFile::cgroup_freeze;
}

std::optional<Record> decode_record(std::span<const std::byte> bytes) {
    fp_event_header header;
    if (bytes.size() < sizeof(header))
        return std::nullopt;
    std::memcpy(&header, bytes.data(), sizeof(header));
    if ((header.type == FP_EVENT_WRITE || header.type == FP_EVENT_READ) &&
        bytes.size() >= sizeof(fp_io_event)) {
        fp_io_event e;
        std::memcpy(&e, bytes.data(), sizeof(e));
        return decode_io(e);
    }
    // Cgroup records end with their path: the kernel side sends only the bytes in use.
    if (header.type == FP_EVENT_CGROUP && bytes.size() >= offsetof(fp_cgroup_event, path)) {
        fp_cgroup_event e{};
        std::memcpy(&e, bytes.data(), std::min(bytes.size(), sizeof(e)));
        e.path_len = std::min<std::size_t>(e.path_len, std::min(bytes.size(), sizeof(e)) -
                                                           offsetof(fp_cgroup_event, path));
        if (auto op = cgroup_op(e.op))
            return decode_cgroup(e, *op);
    }
    return std::nullopt;
}

} // namespace freezeprobe
