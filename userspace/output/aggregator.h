// Per-cgroup and node-wide aggregates of the event stream, for the summary report, JUnit and the
// Prometheus metrics (docs/report.md). Built in userspace from the events the pipeline
// already delivers: every write is an event anyway, so keeping histograms in BPF maps as well
// would only add a second copy of the work to the kernel's hot path.
#pragma once

#include "event_model.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace freezeprobe {

// Power-of-two buckets: bucket i holds values v with 2^(i-1) <= v < 2^i (bucket 0 holds 0).
struct Log2Histogram {
    std::array<std::uint64_t, 65> buckets{};
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    std::uint64_t max = 0;

    void add(std::uint64_t value);
    // An upper bound of the q-quantile (0 < q <= 1): the top of the bucket that holds it, but
    // never above the largest value seen. 0 when empty.
    std::uint64_t quantile(double q) const;
    // The largest value bucket i can hold.
    static std::uint64_t bucket_top(std::size_t i);
};

struct FileStats {
    std::uint64_t count = 0;
    std::map<std::string, std::uint64_t> errors; // errno name -> count
    Log2Histogram latency_ns;
    Log2Histogram lock_wait_ns; // only writes whose lock wait is known (fentry, kprobe)
};

// Something that makes a CI job fail: an aborted or stalled freeze, or a failed write.
struct Failure {
    std::uint64_t time_ns = 0; // CLOCK_REALTIME
    std::string kind;          // "aborted", "stall", "held", "write-error"
    std::string message;       // the human diagnosis
};

struct CgroupStats {
    CgroupRef cgroup;                              // as of the last event
    std::map<std::string, std::uint64_t> episodes; // outcome name -> count
    std::uint64_t stalls = 0;
    std::uint64_t held = 0;                 // freezes left in effect past --held-after
    Log2Histogram freeze_latency_ns;        // frozen episodes: first request to frozen
    std::map<std::string, FileStats> files; // "freezer.state", "cgroup.procs", ...
    std::vector<Failure> failures;          // the first max_failures
    std::uint64_t failures_dropped = 0;     // beyond that
    std::uint64_t last_time_ns = 0;         // CLOCK_REALTIME of its last event
};

// Per-cgroup stats are only kept when a report, JUnit or the live table needs them (per_cgroup),
// and then for at most max_cgroups cgroups: beyond that the least recently active cgroup without
// a failure or stall (else the least recently active one) is dropped and counted, so that a long
// run on a node with container churn does not grow without bound. The node-wide series
// (Prometheus) and the --fail-on counters are never dropped.
//
// Likewise the Prometheus episode series carry container_id, pod_uid, namespace, pod and container
// labels (one container's names change at most once, from unknown to known): the series of at
// most max_containers containers are kept, and those of the container whose episodes changed
// least recently go first (with container churn, that is a container long gone). Prometheus sees
// them end; containers_dropped() counts them.
class Aggregator {
  public:
    static constexpr std::size_t max_failures = 100;
    static constexpr std::size_t default_max_cgroups = 10'000;
    static constexpr std::size_t max_containers = 1'000;

    explicit Aggregator(bool per_cgroup = true, std::size_t max_cgroups = default_max_cgroups)
        : per_cgroup_(per_cgroup), max_cgroups_(max_cgroups) {}
    // (version, v1 controllers, cgroup id)
    using Key = std::tuple<int, std::string, std::uint64_t>;
    // Node-wide series for Prometheus.
    // outcome, hierarchy, container_id, pod_uid, then the Kubernetes names (cAdvisor's label
    // names): namespace, pod, container ("" when unknown).
    using EpisodeLabels = std::tuple<std::string, std::string, std::string, std::string,
                                     std::string, std::string, std::string>;
    using WriteLabels = std::pair<std::string, std::string>; // file, error ("" on success)

    void add(const Event &event);

    const std::map<Key, CgroupStats> &cgroups() const { return cgroups_; }
    std::uint64_t events_lost() const { return events_lost_; }
    // Cgroups dropped from cgroups() to stay within max_cgroups.
    std::uint64_t cgroups_dropped() const { return cgroups_dropped_; }
    // Containers whose episode series were dropped to stay within max_containers.
    std::uint64_t containers_dropped() const { return containers_dropped_; }
    const std::map<EpisodeLabels, std::uint64_t> &episodes_total() const { return episodes_; }
    const std::map<WriteLabels, std::uint64_t> &writes_total() const { return writes_; }
    const std::map<std::string, Log2Histogram> &write_latency_ns() const { return latency_; }
    const std::map<std::string, Log2Histogram> &write_lock_wait_ns() const { return lock_wait_; }
    const Log2Histogram &freeze_duration_ns() const { return freeze_duration_; }

    // --fail-on conditions seen so far.
    std::uint64_t aborted() const { return aborted_; }
    std::uint64_t stalls() const { return stalls_; }
    std::uint64_t held() const { return held_; }
    std::uint64_t write_errors() const { return write_errors_; }

  private:
    CgroupStats &stats_for(const CgroupRef &cgroup);
    void add_failure(CgroupStats &s, Failure failure);
    void add_write(const Event &event, ControlFile file, int err, std::uint64_t latency_ns,
                   std::optional<std::uint64_t> lock_wait_ns);

    void make_room();
    void count_episode(const EpisodeLabels &labels);

    bool per_cgroup_;
    std::size_t max_cgroups_;
    CgroupStats scratch_; // stands in for a cgroup's stats when they are not kept
    std::uint64_t cgroups_dropped_ = 0;
    std::map<std::string, std::uint64_t> container_touched_; // container id -> episode sequence
    std::uint64_t episode_sequence_ = 0;
    std::uint64_t containers_dropped_ = 0;
    std::map<Key, CgroupStats> cgroups_;
    std::map<EpisodeLabels, std::uint64_t> episodes_;
    std::map<WriteLabels, std::uint64_t> writes_;
    std::map<std::string, Log2Histogram> latency_;
    std::map<std::string, Log2Histogram> lock_wait_;
    Log2Histogram freeze_duration_;
    std::uint64_t events_lost_ = 0;
    std::uint64_t aborted_ = 0;
    std::uint64_t stalls_ = 0;
    std::uint64_t held_ = 0;
    std::uint64_t write_errors_ = 0;
};

} // namespace freezeprobe
