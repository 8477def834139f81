// One running probe and the pipeline behind it (DESIGN.md section 2): records from the ring buffer
// are decoded, resolved to cgroups and containers, filtered, and handed to a sink as events.
// Lost records are turned into `lost` events too, so no loss is silent.
#pragma once

#include "bpf_probe.h"
#include "cgroup_resolver.h"
#include "event_builder.h"
#include "event_filter.h"

#include <functional>
#include <memory>

namespace freezeprobe {

class ProbeSession {
  public:
    using Sink = std::function<void(const Event &)>;

    // Attaches the probe; throws ProbeError.
    ProbeSession(const ProbeOptions &options, EventFilter filter, Sink sink);

    // Delivers what arrived within timeout_ms, then reports new losses.
    void poll(int timeout_ms);
    // Delivers everything queued so far, without waiting.
    void drain() { poll(0); }

    AttachMode mode() const { return probe_->mode(); }
    bool fast_filter_ready() const { return probe_->fast_filter_ready(); }
    const std::vector<Hierarchy> &hierarchies() const { return resolver_.hierarchies(); }
    std::uint64_t events_lost() const { return lost_reported_; }
    std::uint64_t events_delivered() const { return delivered_; }

  private:
    void on_record(std::span<const std::byte> bytes);
    void report_losses();

    CgroupResolver resolver_;
    EventBuilder builder_;
    EventFilter filter_;
    Sink sink_;
    std::unique_ptr<BpfProbe> probe_;
    std::uint64_t lost_reported_ = 0;
    std::uint64_t undecodable_ = 0;
    std::uint64_t delivered_ = 0;
};

} // namespace freezeprobe
