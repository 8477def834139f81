// Folds repeated write lines for a human reader: runc's v1 freeze loop writes FROZEN up to 1000
// times in a fraction of a second, which would bury everything else on a terminal. A write line
// identical to one printed less than a second ago (same type, cgroup, value, errno and writer) is
// counted instead of printed; the count is told before the next such line, before the cgroup's
// next episode or stall line, and at the end. JSON output is never folded.
#pragma once

#include "event_model.h"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace freezeprobe {

class RepeatFolder {
  public:
    static constexpr std::uint64_t window_ns = 1'000'000'000;

    // The lines to print for this event, in order: fold notes, then the event's own line (or
    // nothing for a folded repeat). render turns an event into its line.
    template <typename Render> std::vector<std::string> lines(const Event &event, Render render);
    // Notes for everything still folded.
    std::vector<std::string> finish();

  private:
    using Key = std::tuple<std::string, std::uint64_t, std::string, int, std::uint32_t>;
    struct Run {
        std::uint64_t since_ns = 0;
        std::uint64_t folded = 0;
        std::string note; // what was folded, e.g. freeze_write "FROZEN" by runc[42] | v1 /x
    };
    static std::optional<Key> key_of(const Event &event);
    static std::string fold_note(const Run &run);
    void notes_for_cgroup(std::uint64_t cgroup_id, std::vector<std::string> &out);

    std::map<Key, Run> runs_;
};

// Describes the folded part of a run, e.g. "freeze_write \"FROZEN\" by runc[42]".
std::string repeat_subject(const Event &event);

template <typename Render>
std::vector<std::string> RepeatFolder::lines(const Event &event, Render render) {
    std::vector<std::string> out;
    auto key = key_of(event);
    if (!key) {
        if (event.cgroup)
            notes_for_cgroup(event.cgroup->id, out);
        out.push_back(render(event));
        return out;
    }
    auto &run = runs_[*key];
    if (run.since_ns && event.time_ns - run.since_ns < window_ns) {
        ++run.folded;
        return out;
    }
    if (run.folded)
        out.push_back(fold_note(run));
    run = Run{event.time_ns, 0, repeat_subject(event)};
    out.push_back(render(event));
    return out;
}

} // namespace freezeprobe
