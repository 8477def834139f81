// Resolved events: what the sinks (JSON lines, text lines, and later reports) consume.
// The shape follows the interface contract in DESIGN.md section 5.
#pragma once

#include "container_resolver.h"
#include "records.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace freezeprobe {

struct Task {
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::string comm;
};

struct CgroupRef {
    int version = 0;                 // 1 or 2
    std::optional<std::string> path; // from the hierarchy root; nullopt when unknown
    std::uint64_t id = 0;
    std::optional<Container> container;
};

struct FreezeWrite {
    std::string value; // trimmed
    int err = 0;       // positive errno, 0 on success
    std::uint64_t latency_ns = 0;
    Task writer;
};

struct ProcsWrite {
    ControlFile file = ControlFile::cgroup_procs;
    std::string value; // trimmed
    std::optional<std::int64_t> target_pid;
    int err = 0;
    std::uint64_t latency_ns = 0;
    Task writer;
    bool during_freeze = false;
};

struct Lost {
    std::uint64_t count = 0;
};

struct Event {
    std::uint64_t time_ns = 0; // CLOCK_REALTIME
    std::optional<CgroupRef> cgroup;
    std::variant<FreezeWrite, ProcsWrite, Lost> body;
};

// "freeze_write", "procs_write" or "lost".
const char *type_name(const Event &event);

} // namespace freezeprobe
