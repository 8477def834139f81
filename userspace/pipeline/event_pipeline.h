// The userspace pipeline behind the probe, without the probe: records in, events out. It wires
// the resolvers (EventBuilder) to the freeze state machine (EpisodeTracker), applies the filter,
// and on each tick runs the timers: aborted episodes, freezeprobe's own look at a pending freeze's
// state file, and the blocker scan of a stalled one. The two pieces of I/O the timers need are
// passed in, so that the whole pipeline runs in unit tests on synthetic records.
#pragma once

#include "blocker_scan.h"
#include "episode_tracker.h"
#include "event_builder.h"
#include "event_filter.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace freezeprobe {

struct PipelineTimers {
    // How often freezeprobe reads a pending freeze's state itself.
    std::uint64_t state_check_interval_ns = 100'000'000;
    // A freeze pending this long gets its blockers looked for, every sample interval until two
    // scans in a row, made while the cgroup is really freezing (runc thaws for 10 ms every 50
    // tries, and in a thaw nothing is frozen), find the same blockers (the same threads); then
    // after the rescan interval, doubled at each scan that finds them again, up to the longest
    // rescan interval. Scans that find no blocker back off from the sample interval, doubled at
    // each scan that again finds none, up to the rescan interval. A change samples again. Before
    // 6.1 a scan walks every task of the node (about 18 ms with 30,000 threads): a fixed 1 s
    // rescan cost a stuck freeze 1.8% of a core there, and sampling a freeze with no blocker in
    // sight every 5 ms would cost most of one.
    std::uint64_t blocker_sample_after_ns = 20'000'000;
    std::uint64_t blocker_sample_interval_ns = 5'000'000;
    std::uint64_t blocker_rescan_interval_ns = 1'000'000'000;
    std::uint64_t blocker_rescan_max_interval_ns = 8'000'000'000;
};

class EventPipeline {
  public:
    using Sink = std::function<void(const Event &)>;
    // What a cgroup's freeze state files say now; nullopt if unreadable (gone).
    using StateReader =
        std::function<std::optional<FreezeState>(const Hierarchy &, const std::string &path)>;
    // The blockers of a cgroup (and its descendants), given whether its state read freezing
    // just before (BlockerScanner::scan).
    using BlockerFinder = std::function<BlockerScan(const Hierarchy &, const std::string &path,
                                                    bool cgroup_reads_freezing)>;

    EventPipeline(CgroupResolver &resolver, WallClock clock, TrackerConfig tracker,
                  PipelineTimers timers, EventFilter filter, Sink sink, std::uint32_t self_pid,
                  StateReader read_state, BlockerFinder find_blockers,
                  ContainerNamer *namer = nullptr);

    // Fills in the causes of blockers about to be reported (CauseResolver::resolve); without
    // one, blockers keep the cause their scan classified from the stack.
    using CauseFinder = std::function<void(std::vector<Blocker> &)>;
    void set_cause_finder(CauseFinder finder) { resolve_causes_ = std::move(finder); }
    // Whether a process still exists: a thaw pending episode waits longer while the process that
    // thawed lives (TrackerConfig::thaw_grace_alive_ns). Without it, thaw_grace_ns alone.
    void set_liveness(EpisodeTracker::Liveness alive) { alive_ = std::move(alive); }

    // The forks of a cgroup counted in the kernel while its freeze is pending (BpfProbe's
    // watch_forks / fork_tally): watch starts counting (false: not possible), tally reads the
    // count and the forkers (busiest first) and, with unwatch, stops counting.
    struct ForkCount {
        std::uint64_t forks = 0;
        std::vector<Forker> forkers;
    };
    struct ForkCounter {
        std::function<bool(int version, std::uint64_t cgroup_id)> watch;
        std::function<ForkCount(int version, std::uint64_t cgroup_id, bool unwatch)> tally;
    };
    // Without one, episodes count no forks.
    void set_fork_counter(ForkCounter counter) { forks_ = std::move(counter); }

    void on_record(const Record &record);
    void tick(std::uint64_t now);
    // Between ticks, while a long backlog of records is being read (a slow reader, a burst):
    // looks for the blockers of pending freezes that are due a scan, and does nothing else. runc's
    // whole v1 retry loop (about 250 ms) can start and end inside one backlog, and its blockers
    // exist only while it runs; stalls and timeouts still wait for tick(), since the episodes'
    // view lags behind the kernel's until the backlog is read.
    void sample_blockers(std::uint64_t now);
    // The end of the run: episodes still pending are reported as open.
    void finish(std::uint64_t now);
    void lost(std::uint64_t count);

    bool freeze_in_effect(const CgroupKey &key) const { return tracker_.freeze_in_effect(key); }
    std::uint64_t delivered() const { return delivered_; }
    std::vector<PendingEpisode> pending() const { return tracker_.pending(); }

  private:
    void on_io(const IoRecord &r);
    void on_cgroup(const CgroupRecord &r);
    void emit(const Event &event);
    void emit(const std::vector<EpisodeReport> &reports);
    void look_at(const PendingEpisode &p, std::uint64_t now, bool blockers_only);
    std::vector<Blocker> resolved(std::vector<Blocker> blockers) const;
    void watch_forks(const CgroupKey &key);
    // Reads the forks of a watched episode into the tracker; unwatch when its freezing is over.
    std::optional<ForkCount> take_forks(const CgroupKey &key, bool unwatch);

    EventBuilder builder_;
    EpisodeTracker tracker_;
    PipelineTimers timers_;
    EventFilter filter_;
    Sink sink_;
    std::uint32_t self_pid_;
    StateReader read_state_;
    BlockerFinder find_blockers_;
    CauseFinder resolve_causes_;
    EpisodeTracker::Liveness alive_;
    ForkCounter forks_;
    std::map<CgroupKey, std::pair<int, std::uint64_t>> fork_watches_; // key -> (version, id)
    struct Looks {
        std::uint64_t state = 0;    // last own read of the state
        std::uint64_t blockers = 0; // last blocker scan
        // The threads the last scan found blocking (none, too), and how many scans in a row found
        // the same ones since they changed.
        std::vector<std::uint32_t> found;
        unsigned unchanged = 0;
        bool scanned = false;
    };
    std::map<CgroupKey, Looks> looks_;
    std::uint64_t delivered_ = 0;
};

} // namespace freezeprobe
