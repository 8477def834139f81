#include "probe_session.h"

#include "process.h"
#include "records.h"
#include "read_file.h"
#include "text_util.h"
#include "time_format.h"

#include <unistd.h>

namespace freezeprobe {
namespace {

std::optional<FreezeState> read_freeze_state(const Hierarchy &h, const std::string &path) {
    auto dir = h.mount_point + (path == "/" ? "" : path);
    if (h.version == 1) {
        auto text = read_file(dir + "/freezer.state"); // trim() views into it
        auto state = trim(text);
        if (state == "FROZEN")
            return FreezeState::frozen;
        if (state == "FREEZING")
            return FreezeState::freezing;
        return state == "THAWED" ? std::optional(FreezeState::thawed) : std::nullopt;
    }
    auto frozen = reads_as_frozen(read_file(dir + "/cgroup.events"));
    auto freeze_text = read_file(dir + "/cgroup.freeze");
    auto requested = trim(freeze_text);
    if (!frozen || requested.empty())
        return std::nullopt;
    if (*frozen)
        return FreezeState::frozen;
    return requested == "1" ? FreezeState::freezing : FreezeState::thawed;
}

// A root file whose read takes no cgroup lock: v2 cgroup_controllers_show and v1
// cgroup_read_notify_on_release only print a field (cgroup.procs would list every task).
std::string calibration_file(const Hierarchy &h) {
    return h.mount_point + (h.version == 2 ? "/cgroup.controllers" : "/notify_on_release");
}

} // namespace

ProbeSession::ProbeSession(const SessionOptions &options, Sink sink)
    : resolver_(discover_hierarchies()), namer_(host_files(options.host_root), monotonic_now_ns),
      pipeline_(
          resolver_, WallClock(), options.tracker, options.timers, options.filter, std::move(sink),
          static_cast<std::uint32_t>(::getpid()), read_freeze_state,
          [this](const Hierarchy &h, const std::string &path, bool reads_freezing) {
              return blockers_.scan(h, path, reads_freezing);
          },
          &namer_) {
    pipeline_.set_cause_finder([this](std::vector<Blocker> &b) { causes_.resolve(b); });
    pipeline_.set_liveness(
        [](std::uint32_t pid) { return process_exists(static_cast<pid_t>(pid)); });
    ProbeOptions probe_options = options.probe;
    if (probe_options.calibration_file.empty() && !resolver_.hierarchies().empty())
        probe_options.calibration_file = calibration_file(resolver_.hierarchies().front());
    probe_ = BpfProbe::start(probe_options, [this](std::span<const std::byte> b) { on_record(b); });
    pipeline_.set_fork_counter(
        {[this](int version, std::uint64_t id) { return probe_->watch_forks(version, id); },
         [this](int version, std::uint64_t id, bool unwatch) {
             auto tally = probe_->fork_tally(version, id, unwatch);
             EventPipeline::ForkCount count{tally.forks, {}};
             for (auto &f : tally.forkers)
                 count.forkers.push_back(Forker{f.pid, std::move(f.comm), f.forks});
             return count;
         }});
}

void ProbeSession::on_record(std::span<const std::byte> bytes) {
    if (auto record = decode_record(bytes))
        pipeline_.on_record(*record);
    else
        ++undecodable_; // a record this build cannot read is a lost event, not a silent one
    // One poll reads the whole backlog; look for blockers during a long one (a clock read every
    // 16 records, a look at most every millisecond).
    if (++records_since_clock_ < 16)
        return;
    records_since_clock_ = 0;
    auto now = monotonic_now_ns();
    if (now - last_look_ns_ >= 1'000'000) {
        last_look_ns_ = now;
        pipeline_.sample_blockers(now);
    }
}

void ProbeSession::poll(int timeout_ms) {
    probe_->poll(timeout_ms);
    last_look_ns_ = monotonic_now_ns();
    pipeline_.tick(last_look_ns_);
    report_losses();
}

void ProbeSession::finish() {
    drain();
    pipeline_.finish(monotonic_now_ns());
}

void ProbeSession::report_losses() {
    std::uint64_t lost = probe_->lost_events() + undecodable_;
    if (lost > lost_reported_) {
        pipeline_.lost(lost - lost_reported_);
        lost_reported_ = lost;
    }
}

} // namespace freezeprobe
