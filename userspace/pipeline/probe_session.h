// One running probe: the BPF side (BpfProbe) feeding the userspace pipeline (EventPipeline), with
// the real I/O the pipeline's timers need (freeze state files, the blocker scan). Lost records
// become `lost` events, so no loss is silent.
#pragma once

#include "blocker_scan.h"
#include "cause_resolver.h"
#include "bpf_probe.h"
#include "cgroup_resolver.h"
#include "event_pipeline.h"

#include <functional>
#include <memory>

namespace freezeprobe {

struct SessionOptions {
    ProbeOptions probe;
    EventFilter filter;
    TrackerConfig tracker;
    PipelineTimers timers;
    // --host-root: where the node's files that name containers are (container_names.h).
    std::string host_root;
};

class ProbeSession {
  public:
    using Sink = std::function<void(const Event &)>;

    // Attaches the probe; throws ProbeError.
    ProbeSession(const SessionOptions &options, Sink sink);

    // Delivers what arrived within timeout_ms, runs the timers, then reports new losses.
    void poll(int timeout_ms);
    // Delivers everything queued so far, without waiting.
    void drain() { poll(0); }
    // Ends the run: episodes still pending are reported as open.
    void finish();

    AttachMode mode() const { return probe_->mode(); }
    const std::vector<RefusedMode> &refused_modes() const { return probe_->refused_modes(); }
    const std::vector<std::string> &mode_notes() const { return probe_->mode_notes(); }
    bool fast_filter_ready() const { return probe_->fast_filter_ready(); }
    const std::string &blocker_method() const { return blockers_.method(); }
    const std::string &fuse_daemon_method() const { return causes_.fuse_method(); }
    const std::vector<Hierarchy> &hierarchies() const { return resolver_.hierarchies(); }
    std::uint64_t events_lost() const { return lost_reported_; }
    std::uint64_t events_delivered() const { return pipeline_.delivered(); }
    std::vector<PendingEpisode> pending() const { return pipeline_.pending(); }
    const ContainerNamer &namer() const { return namer_; }

  private:
    void on_record(std::span<const std::byte> bytes);
    void report_losses();

    CgroupResolver resolver_;
    BlockerScanner blockers_;
    CauseResolver causes_;
    ContainerNamer namer_;
    EventPipeline pipeline_;
    std::unique_ptr<BpfProbe> probe_;
    std::uint64_t lost_reported_ = 0;
    std::uint64_t undecodable_ = 0;
    std::uint32_t records_since_clock_ = 0; // on_record: records since the clock was last read
    std::uint64_t last_look_ns_ = 0;        // last tick or blocker sample
};

} // namespace freezeprobe
