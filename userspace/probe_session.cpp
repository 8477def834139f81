#include "probe_session.h"

#include "records.h"

namespace freezeprobe {

ProbeSession::ProbeSession(const ProbeOptions &options, EventFilter filter, Sink sink)
    : resolver_(discover_hierarchies()), builder_(resolver_, WallClock()),
      filter_(std::move(filter)), sink_(std::move(sink)) {
    ProbeOptions probe_options = options;
    if (probe_options.calibration_file.empty() && !resolver_.hierarchies().empty())
        probe_options.calibration_file =
            resolver_.hierarchies().front().mount_point + "/cgroup.procs";
    probe_ = BpfProbe::start(probe_options, [this](std::span<const std::byte> b) { on_record(b); });
}

void ProbeSession::on_record(std::span<const std::byte> bytes) {
    auto record = decode_record(bytes);
    if (!record) {
        // A record this build cannot read is a lost event, not a silent one.
        ++undecodable_;
        return;
    }
    auto event = builder_.on_record(*record);
    if (event && filter_.matches(*event)) {
        ++delivered_;
        sink_(*event);
    }
}

void ProbeSession::poll(int timeout_ms) {
    probe_->poll(timeout_ms);
    report_losses();
}

void ProbeSession::report_losses() {
    std::uint64_t lost = probe_->lost_events() + undecodable_;
    if (lost > lost_reported_) {
        sink_(builder_.lost(lost - lost_reported_));
        lost_reported_ = lost;
    }
}

} // namespace freezeprobe
