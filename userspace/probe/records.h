// Raw kernel records as C++ values: what the BPF side saw, before any resolution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace freezeprobe {

enum class ControlFile {
    unknown,
    freezer_state,
    cgroup_freeze,
    cgroup_procs,
    tasks,
    cgroup_threads,
    cgroup_events // read only
};

// The file name as the kernel shows it ("freezer.state", "cgroup.procs", ...).
const char *file_name(ControlFile file);
bool is_freeze_file(ControlFile file);

// A write to a watched control file, or a read of freezer.state / cgroup.events.
struct IoRecord {
    bool is_read = false;
    std::uint64_t mono_ns = 0; // syscall entry, CLOCK_MONOTONIC
    std::uint64_t latency_ns = 0;
    std::uint64_t cgroup_id = 0;
    std::int64_t ret = 0; // bytes written or -errno
    std::uint64_t count = 0;
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::uint32_t dev = 0; // kernel dev_t of the cgroup filesystem
    ControlFile file = ControlFile::unknown;
    int cgroup_version = 0;
    bool data_fault = false;
    std::optional<std::uint64_t> lock_wait_ns;
    std::string comm;
    std::string data; // the first bytes written or read, raw
};

enum class CgroupOp { freeze, unfreeze, notify_frozen, attach_task, mkdir, rmdir, release };

struct CgroupRecord {
    std::uint64_t mono_ns = 0;
    std::uint64_t cgroup_id = 0;
    int hierarchy_id = 0;
    int level = 0;
    CgroupOp op = CgroupOp::freeze;
    int val = 0;
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::uint32_t task_pid = 0;
    std::uint32_t task_tid = 0;
    std::string comm;
    std::string task_comm;
    std::string path;
};

using Record = std::variant<IoRecord, CgroupRecord>;

// Decodes one ring-buffer record; nullopt for a record of unknown type or wrong size.
std::optional<Record> decode_record(std::span<const std::byte> bytes);

} // namespace freezeprobe
