// The freeze state machine, one per cgroup (docs/episodes-and-blockers.md). It turns freeze and
// thaw requests, reads of the freeze state, v2 frozen notifications, joins and removals into
// episodes, and says when an episode has been pending long enough to look for blockers.
// Pure logic over monotonic timestamps: no I/O, so every sequence can be unit-tested.
#pragma once

#include "event_model.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace freezeprobe {

// A cgroup: the hierarchy's device and the cgroup id within it.
using CgroupKey = std::pair<std::uint32_t, std::uint64_t>;

struct TrackerConfig {
    std::uint64_t stall_after_ns = 500'000'000;
    // runc thaws every 50 tries and freezes again 10 ms later: a thaw followed by a new freeze
    // request within this window continues the same episode.
    std::uint64_t thaw_grace_ns = 250'000'000;
    // A freeze still in effect (freezing or frozen, not thawed) this long after it was asked
    // for is reported as held (--held-after).
    std::uint64_t held_after_ns = 60'000'000'000;
    // While the process that thawed is still alive, the window stretches up to this long: on a
    // loaded node runc's 10 ms sleep can last longer than thaw_grace, and its loop is still one
    // attempt. The episode ends sooner when that process reads the state back (below).
    std::uint64_t thaw_grace_alive_ns = 2'000'000'000;
};

// An episode as the tracker sees it when it reports on it.
struct EpisodeReport {
    CgroupKey key;
    CgroupRef cgroup;
    std::uint64_t start_ns = 0; // monotonic
    std::uint64_t end_ns = 0;   // monotonic: when the outcome happened
    EpisodeOutcome outcome = EpisodeOutcome::open;
    EpisodeCounts counts;
    Task writer;
    std::vector<Blocker> blockers;
    std::vector<Joiner> joiners;
    std::vector<Forker> forkers;
};

// An episode pending for longer than stall_after, with the last blockers seen.
struct StallDue {
    CgroupKey key;
    CgroupRef cgroup;
    std::uint64_t start_ns = 0;
    EpisodeCounts counts;
    Task writer;
    std::vector<Blocker> blockers;
    std::vector<Joiner> joiners;
    std::vector<Forker> forkers;
};

// A freeze in effect for longer than held_after, never thawed.
struct HeldDue {
    CgroupKey key;
    CgroupRef cgroup;
    std::uint64_t start_ns = 0;
    bool frozen = false;
    EpisodeCounts counts;
    Task writer;
};

// An episode still waiting to complete.
struct PendingEpisode {
    CgroupKey key;
    CgroupRef cgroup;
    std::uint64_t start_ns = 0;
    bool has_blockers = false;
    std::optional<BlockerCause> first_cause; // of the first blocker seen, as the scan classified it
};

// What a cgroup's freeze state files say right now.
enum class FreezeState { thawed, freezing, frozen };

class EpisodeTracker {
  public:
    explicit EpisodeTracker(TrackerConfig config = {}) : config_(config) {}

    // A successful write of FROZEN/1 (freeze = true) or THAWED/0 (freeze = false).
    std::vector<EpisodeReport> on_freeze_request(const CgroupKey &key, const CgroupRef &cgroup,
                                                 std::uint64_t time, const Task &writer,
                                                 bool freeze);
    // What a read of freezer.state (v1) or cgroup.events (v2) by process reader returned. Reads
    // by freezeprobe itself (by_self) complete episodes but are not counted. A thawed state read
    // by the process that thawed ends its attempt at once: a retry loop freezes again without
    // looking (runc), a caller that reads the state back has given up (runc update, before it
    // retries with the old configuration).
    std::vector<EpisodeReport> on_state_read(const CgroupKey &key, std::uint64_t time,
                                             std::string_view content, bool by_self,
                                             std::uint32_t reader = 0);
    // v2 cgroup_notify_frozen tracepoint.
    std::vector<EpisodeReport> on_notify_frozen(const CgroupKey &key, std::uint64_t time,
                                                bool frozen);
    // A successful cgroup.procs / tasks / cgroup.threads write into the cgroup, by writer.
    void on_join(const CgroupKey &key, const Task &writer = {});
    static constexpr std::size_t max_joiners = 8; // distinct writers kept per episode
    std::vector<EpisodeReport> on_removed(const CgroupKey &key, std::uint64_t time);

    // Time passed: aborted episodes whose grace ran out. alive(pid) says whether a process still
    // exists (without it, every thawing process counts as gone: thaw_grace only).
    using Liveness = std::function<bool(std::uint32_t pid)>;
    std::vector<EpisodeReport> tick(std::uint64_t now, const Liveness &alive = {});
    // Episodes that just crossed stall_after (each reported once).
    std::vector<StallDue> due_stalls(std::uint64_t now);
    // Freezes that just crossed held_after without a thaw (each reported once).
    std::vector<HeldDue> due_held(std::uint64_t now);
    // Episodes still waiting to complete, for the loader's own look at the freeze state.
    std::vector<PendingEpisode> pending() const;
    // freezeprobe itself saw the cgroup frozen.
    std::vector<EpisodeReport> on_seen_frozen(const CgroupKey &key, std::uint64_t time) {
        return became_frozen(key, time);
    }
    void set_blockers(const CgroupKey &key, std::vector<Blocker> blockers);
    // The forks counted in the kernel for the episode so far (replacing the last count), with at
    // most max_forkers processes, the busiest (the caller trims).
    void set_forks(const CgroupKey &key, std::uint64_t forks, std::vector<Forker> forkers);
    static constexpr std::size_t max_forkers = 8;
    // An episode exists for the cgroup (freezing, thaw pending or frozen).
    bool has_episode(const CgroupKey &key) const { return episodes_.contains(key); }
    // The end of the run: pending episodes are reported as open (or aborted if thawed).
    std::vector<EpisodeReport> finish(std::uint64_t now);

    // A freeze was requested on the cgroup and it has not been thawed since.
    bool freeze_in_effect(const CgroupKey &key) const {
        auto it = episodes_.find(key);
        return it != episodes_.end() && it->second.phase != Phase::thaw_pending;
    }
    std::size_t open_episodes() const { return episodes_.size(); }
    // Cgroups the tracker holds anything for (episodes, v2 notifications): bounded by the live
    // cgroups, since a removal forgets a cgroup.
    std::size_t remembered_cgroups() const { return episodes_.size() + notified_.size(); }

  private:
    enum class Phase { freezing, thaw_pending, frozen };
    struct Episode {
        CgroupRef cgroup;
        std::uint64_t start_ns = 0;
        std::uint64_t thaw_ns = 0;
        std::uint32_t thawer = 0; // the process of the last thaw
        Phase phase = Phase::freezing;
        bool stall_reported = false;
        bool held_reported = false;
        EpisodeCounts counts;
        Task writer;
        std::vector<Blocker> blockers;
        std::vector<Joiner> joiners;
        std::vector<Forker> forkers;
    };
    struct Notification {
        std::uint64_t time = 0;
        bool frozen = false;
    };

    EpisodeReport report(const CgroupKey &key, const Episode &e, EpisodeOutcome outcome,
                         std::uint64_t end) const;
    std::vector<EpisodeReport> became_frozen(const CgroupKey &key, std::uint64_t time);

    TrackerConfig config_;
    std::map<CgroupKey, Episode> episodes_;
    // The last v2 notification per cgroup: the ring buffer delivers a write after the
    // tracepoints that fired inside it, so a freeze may be reported done before it is asked for.
    std::map<CgroupKey, Notification> notified_;
};

// What a state file's content says: true frozen, false not (yet), nullopt unreadable.
std::optional<bool> reads_as_frozen(std::string_view content);

} // namespace freezeprobe
