// The thin wall between libbpf and the C++ logic: owns the BPF skeleton and its lifecycle
// (open -> configure -> load -> attach), hands raw ring-buffer records to a callback and reads
// the kernel-side drop counter. Nothing above this file includes a libbpf header.
#pragma once

#include "attach_plan.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace freezeprobe {

struct ProbeOptions {
    // nullopt: auto, the best mode the kernel allows (fentry, then kprobe, then tracepoint).
    std::optional<AttachMode> mode;
    // Power of two, at least one page. Records are ~120 bytes (writes) or ~1.1 KiB (tracepoints).
    std::uint32_t ring_buffer_bytes = 4u << 20;
    // A cgroup file read once after attach (never written: see calibrate()), which teaches the
    // tracepoint mode's filter the kernfs file_operations so that other writes are rejected
    // after one read. It must be a file whose read takes no cgroup lock.
    std::string calibration_file;
    // kprobe mode: the kretprobes' maxactive (calls in flight at once whose return is seen);
    // 0: the most the kernel allows (kretprobe_maxactive_max). Tests lower it to force misses.
    int kretprobe_maxactive = 0;
    // Tracepoint mode: attach the spare sys_enter/sys_exit programs on any kernel, not only where
    // syscall tracepoints run preemptibly (bpf/syscall_hooks.bpf.h). For tests.
    bool spare_syscall_hooks = false;
};

// Tasks created in a cgroup while its freeze was pending, counted in the kernel
// (bpf/fork_count.bpf.h): the total and the forking processes (tgid, comm at the first fork).
struct ForkTally {
    struct Forker {
        std::uint32_t pid = 0;
        std::string comm;
        std::uint64_t forks = 0;
    };
    std::uint64_t forks = 0;
    std::vector<Forker> forkers; // most forks first
};

// A mode that was tried (or ruled out by what the kernel lacks) and not used, and why.
struct RefusedMode {
    AttachMode mode;
    std::string reason;
};

// A failure to open, load or attach, with the step, the errno and libbpf's last words.
class ProbeError : public std::runtime_error {
  public:
    ProbeError(const std::string &what, int err) : std::runtime_error(what), err_(err) {}
    int error_number() const { return err_; }

  private:
    int err_;
};

// libbpf's last warnings (verifier log lines, attach errors), oldest first.
std::vector<std::string> recent_libbpf_messages();

// libbpf's messages (a verifier log, a failed CO-RE relocation) are kept for error messages
// instead of printed on stderr. Every loader of a BPF object calls this first (idempotent).
void capture_libbpf_log();

class BpfProbe {
  public:
    using RecordCallback = std::function<void(std::span<const std::byte>)>;

    // Opens, configures, loads and attaches the programs of the requested mode, or of the best
    // mode the kernel allows; throws ProbeError (naming why each mode was refused).
    static std::unique_ptr<BpfProbe> start(const ProbeOptions &options, RecordCallback on_record);
    ~BpfProbe();
    BpfProbe(const BpfProbe &) = delete;
    BpfProbe &operator=(const BpfProbe &) = delete;

    // Waits up to timeout_ms for a record that wakes the reader (freeze traffic, or a ring
    // filling up), then delivers everything queued; returns how many were delivered.
    int poll(int timeout_ms);
    // Events the kernel side could not queue since attach (summed over CPUs), and writes and
    // reads whose end it never saw (a kretprobe's missed return, in kprobe mode).
    std::uint64_t lost_events() const;
    AttachMode mode() const;
    // The better modes that were refused before this one was chosen (empty when forced).
    const std::vector<RefusedMode> &refused_modes() const;
    // What the chosen mode does not see on this kernel (missing optional functions).
    const std::vector<std::string> &mode_notes() const;
    // Starts counting the tasks created in a cgroup (version 1: the v1 freezer hierarchy, 2: the
    // unified one) and its descendants; false when the kernel-side table is full.
    bool watch_forks(int version, std::uint64_t cgroup_id);
    // What was counted for a watched cgroup so far; unwatch also stops counting and forgets it.
    ForkTally fork_tally(int version, std::uint64_t cgroup_id, bool unwatch);
    // Tracepoint mode: true once the BPF filter knows the kernfs file_operations (its fast path
    // is on). The other modes need no filter.
    bool fast_filter_ready() const;

  private:
    struct Impl;
    explicit BpfProbe(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace freezeprobe
