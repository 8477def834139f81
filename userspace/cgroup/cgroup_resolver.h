// (hierarchy, cgroup id) -> path. Learns paths from the cgroup tracepoints as cgroups are made,
// falls back to a walk of the hierarchy's mount on a miss (rate-limited), and keeps the last
// known path of a removed cgroup so that late events still name it.
#pragma once

#include "cgroup_hierarchies.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace freezeprobe {

class CgroupResolver {
  public:
    using Clock = std::chrono::steady_clock;

    explicit CgroupResolver(std::vector<Hierarchy> hierarchies);

    const std::vector<Hierarchy> &hierarchies() const { return hierarchies_; }
    const Hierarchy *by_dev(std::uint32_t dev) const { return find_by_dev(hierarchies_, dev); }
    const Hierarchy *by_id(int hierarchy_id) const {
        return find_by_id(hierarchies_, hierarchy_id);
    }

    // The path from the hierarchy root ("/kubepods/..."), or nullopt when unknown.
    std::optional<std::string> path(const Hierarchy &h, std::uint64_t cgroup_id);
    // A tracepoint told us the path (mkdir, freeze, attach...).
    void learn(const Hierarchy &h, std::uint64_t cgroup_id, std::string path);
    // The cgroup is gone: keep its path for the events still queued behind its removal, for
    // removed_ttl and at most max_removed_kept removed cgroups, whichever is fewer. (Cgroup ids
    // are never reused, so a kept path can only ever name its own cgroup.)
    void forget_later(const Hierarchy &h, std::uint64_t cgroup_id,
                      Clock::time_point now = Clock::now());

    std::size_t known() const { return paths_.size(); }
    static constexpr std::size_t max_removed_kept = 4096;
    static constexpr std::chrono::seconds removed_ttl{10};
    static constexpr std::chrono::milliseconds min_rescan_interval{250};

  private:
    using Key = std::pair<std::uint32_t, std::uint64_t>; // (dev, id)
    void rescan(const Hierarchy &h);

    std::vector<Hierarchy> hierarchies_;
    std::map<Key, std::string> paths_;
    std::deque<std::pair<Clock::time_point, Key>> removed_; // oldest removal first
    std::map<std::uint32_t, Clock::time_point> last_scan_;
};

} // namespace freezeprobe
