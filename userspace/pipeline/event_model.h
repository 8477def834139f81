// Resolved events: what the sinks (JSON lines, text lines, and later reports) consume.
// The shape follows the contract in docs/events.md.
#pragma once

#include "container_resolver.h"
#include "records.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace freezeprobe {

// The writer's parent process when the event was built (who drove the write).
struct TaskParent {
    std::uint32_t pid = 0;
    std::string comm;
};

struct Task {
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::string comm;
    std::optional<TaskParent> parent; // nullopt when the writer had exited or is unknown
};

struct CgroupRef {
    int version = 0;                 // 1 or 2
    std::string controllers;         // v1: which hierarchy ("freezer", "cpu,cpuacct"); v2: empty
    std::optional<std::string> path; // from the hierarchy root; nullopt when unknown
    std::uint64_t id = 0;
    std::optional<Container> container;
};

struct FreezeWrite {
    std::string value; // trimmed
    int err = 0;       // positive errno, 0 on success
    std::uint64_t latency_ns = 0;
    Task writer;
    // Time spent waiting for the cgroup lock; known in the fentry and kprobe modes.
    std::optional<std::uint64_t> lock_wait_ns;
};

struct ProcsWrite {
    ControlFile file = ControlFile::cgroup_procs;
    std::string value; // trimmed
    std::optional<std::int64_t> target_pid;
    int err = 0;
    std::uint64_t latency_ns = 0;
    Task writer;
    bool during_freeze = false;
    std::optional<std::uint64_t> lock_wait_ns; // as in FreezeWrite
};

struct Lost {
    std::uint64_t count = 0;
};

// Why a blocker cannot freeze, as far as its wait and its files tell.
enum class CauseKind { fuse, block_io, nfs, lock, unknown };
// "fuse", "block_io", "nfs", "lock" or "unknown".
const char *cause_kind_name(CauseKind kind);

// The process the blocker waits for (the FUSE daemon of the connection it waits on).
struct CauseHolder {
    std::uint32_t pid = 0;
    std::string comm;
    std::optional<Container> container;
};

struct BlockerCause {
    CauseKind kind = CauseKind::unknown;
    std::string detail;                // one human clause: "waiting for the FUSE daemon ..."
    std::optional<CauseHolder> holder; // who must answer; nullopt when no one is known
    std::optional<std::string> device; // "MAJ:MIN" of the device or file system waited on
    std::optional<std::string> hint;   // how to unblock it by hand
};

// A task of a freezing cgroup (or a descendant) that is not frozen.
struct Blocker {
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::string comm;
    std::string state; // the /proc state letter: "D", "R", "S"...
    std::string wchan;
    std::vector<std::string> stack;    // innermost first, "request_wait_answer+0xd6/0x290"
    std::optional<std::string> cgroup; // the task's own cgroup, from the hierarchy root
    std::optional<Container> container;
    // The kind comes from the scan (stack and wchan); holder, device and hint are looked up
    // only when the blocker is reported (CauseResolver).
    std::optional<BlockerCause> cause;
};

// Who wrote tasks into a cgroup while its freeze was pending (runc exec, a shim), and how often.
struct Joiner {
    std::uint32_t pid = 0;
    std::string comm;
    std::uint32_t joins = 0;
    bool operator==(const Joiner &) const = default;
};

// A process that created tasks in a cgroup while its freeze was pending (a fork storm), and how
// many; counted in the kernel (bpf/fork_count.bpf.h).
struct Forker {
    std::uint32_t pid = 0;
    std::string comm;
    std::uint64_t forks = 0;
    bool operator==(const Forker &) const = default;
};

// What a freeze episode has seen so far.
struct EpisodeCounts {
    std::uint32_t writes = 0; // freeze requests (FROZEN / 1) in the episode
    std::uint32_t thaws = 0;  // thaw requests while it was not frozen (runc thaws every 50 tries)
    std::uint32_t reads = 0;  // reads of freezer.state / cgroup.events by others than freezeprobe
    std::uint32_t joins = 0;  // successful cgroup.procs / tasks / cgroup.threads writes into it
    std::uint64_t forks = 0;  // tasks created in it (or a descendant) while its freeze was pending
};

struct FreezeStall {
    std::uint64_t elapsed_ns = 0;
    EpisodeCounts counts;
    Task writer; // who asked for the freeze
    std::vector<Blocker> blockers;
    std::string diagnosis; // one human paragraph
    std::vector<Joiner> joiners;
    std::vector<Forker> forkers;
};

// A freeze left in effect longer than --held-after: nobody thawed it (runc killed between its
// freeze and its thaw, a pause never resumed). Reported once per episode.
struct FreezeHeld {
    std::uint64_t since_ns = 0;    // CLOCK_REALTIME of the first freeze request
    std::uint64_t duration_ns = 0; // from then to the report
    bool frozen = false;           // the freeze completed (else the cgroup is still freezing)
    Task writer;                   // who asked for the freeze
    bool writer_running = false;   // the writer's process still exists
    EpisodeCounts counts;
    std::string diagnosis;
};

enum class EpisodeOutcome { frozen, aborted, thawed, removed, open };
const char *outcome_name(EpisodeOutcome outcome);

struct FreezeEpisode {
    EpisodeOutcome outcome = EpisodeOutcome::open;
    std::uint64_t duration_ns = 0; // first freeze request to the end (frozen, last thaw, ...)
    EpisodeCounts counts;
    Task writer;
    std::vector<Blocker> blockers; // last seen; empty if it never stalled
    std::string diagnosis;
    std::vector<Joiner> joiners;
    std::vector<Forker> forkers;
};

struct Event {
    std::uint64_t time_ns = 0; // CLOCK_REALTIME
    std::optional<CgroupRef> cgroup;
    std::variant<FreezeWrite, ProcsWrite, Lost, FreezeStall, FreezeEpisode, FreezeHeld> body;
};

// "freeze_write", "procs_write", "lost", "freeze_stall", "freeze_episode" or "freeze_held".
const char *type_name(const Event &event);

} // namespace freezeprobe
