// What `freezeprobe watch` writes, set up before the probe attaches: the live lines (text, JSON,
// or the live table on a terminal), the aggregates that the report, JUnit and metrics are made
// from, the /metrics server, and the report files written at the end (and the metrics file
// every 5 s).
#pragma once

#include "aggregator.h"
#include "cli.h"
#include "line_sink.h"
#include "live_view.h"
#include "metrics_server.h"
#include "run_info.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace freezeprobe {

// A bad output path (--report, --junit, --metrics-file), checked before anything is attached;
// nullopt when all can be written.
std::optional<std::string> bad_output_path(const Options &options);

class WatchOutputs {
  public:
    // Throws std::runtime_error when the --metrics address cannot be served.
    explicit WatchOutputs(const Options &options);

    // One event: to the live lines and the aggregates (the metrics thread reads those).
    void add(const Event &event);
    // Once per loop turn: the live table (every second) and the metrics file (every 5 s).
    void tick(const std::vector<PendingEpisode> &pending, std::uint64_t now_ns);
    // Flushes the live lines; false once stdout has failed.
    bool flush() { return sink_.flush(); }
    bool failed() const { return sink_.failed(); }
    int error() const { return sink_.error(); }
    // The end: what is still folded, the last table; false when stdout failed.
    bool finish();
    // Writes --report, --junit and --metrics-file; false (with a message) if one failed.
    bool write_reports(const RunInfo &info);
    std::vector<std::string> fail_on_hit();
    // "; metrics on http://..." for the start line, or "".
    std::string metrics_note() const;

  private:
    const Options &options_;
    std::mutex mu_; // the aggregates, shared with the metrics thread
    Aggregator aggregates_;
    LineSink sink_;
    std::unique_ptr<LiveView> live_;
    std::unique_ptr<MetricsServer> metrics_;
    std::uint64_t next_table_ns_ = 0;
    std::uint64_t next_metrics_file_ns_ = 0;
};

} // namespace freezeprobe
