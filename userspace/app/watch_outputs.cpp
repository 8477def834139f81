#include "watch_outputs.h"

#include "exit_policy.h"
#include "prometheus_metrics.h"
#include "report_file.h"
#include "summary_report.h"
#include "junit_report.h"
#include "time_format.h"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

bool live_table_wanted(const Options &o) {
    return o.events == EventFormat::text && ::isatty(STDOUT_FILENO) && o.wrapped.empty();
}

} // namespace

std::optional<std::string> bad_output_path(const Options &o) {
    for (auto [flag, path] :
         {std::pair{"--report", &o.report_path}, std::pair{"--junit", &o.junit_path},
          std::pair{"--metrics-file", &o.metrics_file}}) {
        if (path->empty())
            continue;
        if (auto why = check_writable(*path))
            return fmt::format("{} {}: {}", flag, *path, *why);
    }
    return std::nullopt;
}

// Per-cgroup stats only for the outputs that list cgroups: a node-wide daemon writing only
// metrics keeps nothing per cgroup.
WatchOutputs::WatchOutputs(const Options &options)
    : options_(options), aggregates_(live_table_wanted(options) || !options.report_path.empty() ||
                                     !options.junit_path.empty()),
      sink_(options.events, stdout) {
    if (!options.metrics_address.empty()) {
        metrics_ = std::make_unique<MetricsServer>(options.metrics_address, [this] {
            std::lock_guard lock(mu_);
            return prometheus_text(aggregates_);
        });
    }
    if (live_table_wanted(options)) {
        live_ = std::make_unique<LiveView>(stdout);
        sink_.use_live_view(live_.get());
    } else {
        // Events are flushed per batch (LineSink::flush); between flushes a 64 KiB buffer saves
        // write(2)s in a burst (stdio's default for a pipe or file is 4 KiB).
        std::setvbuf(stdout, nullptr, _IOFBF, 64 * 1024);
    }
}

void WatchOutputs::add(const Event &event) {
    sink_(event);
    std::lock_guard lock(mu_);
    aggregates_.add(event);
}

void WatchOutputs::tick(const std::vector<PendingEpisode> &pending, std::uint64_t now_ns) {
    if (live_ && now_ns >= next_table_ns_) {
        next_table_ns_ = now_ns + 1'000'000'000ull;
        std::lock_guard lock(mu_);
        live_->table(status_table(aggregates_, pending, now_ns, 12, live_->width()));
    }
    if (!options_.metrics_file.empty() && now_ns >= next_metrics_file_ns_) {
        next_metrics_file_ns_ = now_ns + 5'000'000'000ull;
        std::lock_guard lock(mu_);
        try {
            write_file_atomically(options_.metrics_file, prometheus_text(aggregates_), 0644);
        } catch (const std::exception &e) {
            fmt::print(stderr, "freezeprobe: {}\n", e.what());
        }
    }
}

bool WatchOutputs::finish() {
    bool ok = sink_.finish();
    live_.reset(); // the last table stays on the screen above the exit lines
    return ok;
}

bool WatchOutputs::write_reports(const RunInfo &info) {
    std::lock_guard lock(mu_);
    bool ok = true;
    auto write = [&](const std::string &path, const std::string &content, mode_t mode) {
        if (path.empty())
            return;
        try {
            write_file_atomically(path, content, mode);
        } catch (const std::exception &e) {
            fmt::print(stderr, "freezeprobe: {}\n", e.what());
            ok = false;
        }
    };
    write(options_.report_path, summary_report_json(aggregates_, info), 0600);
    write(options_.junit_path, junit_xml(aggregates_, info), 0644);
    write(options_.metrics_file, prometheus_text(aggregates_), 0644);
    return ok;
}

std::vector<std::string> WatchOutputs::fail_on_hit() {
    std::lock_guard lock(mu_);
    return failed_conditions(options_.fail_on, aggregates_);
}

std::string WatchOutputs::metrics_note() const {
    return metrics_ ? "; metrics on http://" + metrics_->address() + "/metrics" : "";
}

} // namespace freezeprobe
