// kretprobes made through tracefs (kprobe_events), for what libbpf 1.1's own kprobe attach does not
// offer: a maxactive of our choosing. The kernel's default is max(10, 2 x CPUs), or only the CPU
// count on kernels before 5.11 without preemption (Debian 11's); the returns of calls beyond it
// are dropped. (Those the probe still misses are counted from its pending entries: see
// BpfProbe::lost_events.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace freezeprobe {

// The most a kretprobe may ask for (KRETPROBE_MAXACTIVE_MAX in kernel/trace/trace_kprobe.c).
inline constexpr int kretprobe_maxactive_max = 4096;

// The mounted tracefs whose kprobe_events this process can write, or nullopt.
std::optional<std::string> writable_tracefs();

// One kretprobe event "freezeprobe/fp_<pid>_<n>" on a kernel function, with its perf event open
// for a BPF program to attach to. Removed from kprobe_events on destruction (after the perf
// event is closed by whoever owns it). Throws std::system_error when the kernel refuses it.
class KretprobeEvent {
  public:
    KretprobeEvent(const std::string &tracefs, const std::string &symbol, int maxactive);
    ~KretprobeEvent();
    KretprobeEvent(const KretprobeEvent &) = delete;
    KretprobeEvent &operator=(const KretprobeEvent &) = delete;

    // The perf event (PERF_TYPE_TRACEPOINT), until release_perf_fd hands it over.
    int perf_fd() const { return perf_fd_; }
    // The caller (a BPF link) now owns and closes the perf event.
    void release_perf_fd() { perf_fd_ = -1; }
    const std::string &name() const { return name_; }

  private:
    std::string tracefs_;
    std::string name_;
    int perf_fd_ = -1;
};

// Removes the freezeprobe kretprobe events of processes that are gone (a SIGKILLed run).
void remove_stale_kretprobe_events(const std::string &tracefs);

} // namespace freezeprobe
