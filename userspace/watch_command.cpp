// freezeprobe watch: attach, report events until Ctrl-C, SIGTERM, --duration or the end of the
// wrapped command, then write the reports and exit with the documented code. Everything that can
// be checked before attaching (paths, the metrics port) is checked first.
#include "aggregator.h"
#include "commands.h"
#include "junit_report.h"
#include "line_sink.h"
#include "live_view.h"
#include "metrics_server.h"
#include "privileges.h"
#include "probe_session.h"
#include "prometheus_metrics.h"
#include "report_file.h"
#include "run_info.h"
#include "summary_report.h"
#include "time_format.h"
#include "wrapped_command.h"

#include <cstdio>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <sys/utsname.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

volatile std::sig_atomic_t stop_signal = 0;

void request_stop(int sig) {
    stop_signal = sig;
}

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = request_stop;
    // SA_RESTART: a write to stdout that blocks on a slow reader's full pipe is resumed after the
    // signal, instead of failing with EINTR and losing what stdio had buffered. The main loop
    // still sees the request within one poll (epoll_wait is never restarted).
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // A closed output pipe must end the run cleanly, not kill us mid-write.
    std::signal(SIGPIPE, SIG_IGN);
}

std::string hierarchy_summary(const std::vector<Hierarchy> &hierarchies) {
    const Hierarchy *v1 = find_v1_controller(hierarchies, "freezer");
    const Hierarchy *v2 = find_v2(hierarchies);
    return fmt::format("v1 freezer {}, v2 {}", v1 ? v1->mount_point : "not mounted",
                       v2 ? v2->mount_point : "not mounted");
}

std::string kernel_release() {
    utsname uts{};
    ::uname(&uts);
    return uts.release;
}

// Output paths are checked before anything is attached; a bad one is a usage error.
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

// Lost events are also told on stderr, since the live lines may be off or read by a program: at
// once, then at most every 10 s. The exit line gives the total.
class LossWarning {
  public:
    void lost(std::uint64_t count, std::uint64_t now_ns) {
        total_ += count;
        if (warned_ns_ && now_ns - *warned_ns_ < 10'000'000'000ull)
            return;
        warned_ns_ = now_ns;
        fmt::print(stderr,
                   "freezeprobe: warning: {} events lost so far (the kernel's ring buffer was "
                   "full: freezeprobe did not keep up)\n",
                   total_);
    }

  private:
    std::uint64_t total_ = 0;
    std::optional<std::uint64_t> warned_ns_;
};

// The events, the aggregates and what --fail-on looks at; shared with the metrics thread.
struct RunState {
    explicit RunState(bool per_cgroup) : aggregates(per_cgroup) {}
    std::mutex mu;
    Aggregator aggregates;
};

std::vector<std::string> failed_conditions(const Options &o, const Aggregator &a) {
    std::vector<std::string> hit;
    auto check = [&](const char *name, std::uint64_t n) {
        if (n && o.fail_on.contains(name))
            hit.push_back(fmt::format("{} ({})", name, n));
    };
    check("aborted", a.aborted());
    check("stall", a.stalls());
    check("write-error", a.write_errors());
    check("lost", a.events_lost());
    return hit;
}

// Writes the reports; false (with a message) if one could not be written.
bool write_reports(const Options &o, RunState &state, const RunInfo &info) {
    std::lock_guard lock(state.mu);
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
    write(o.report_path, summary_report_json(state.aggregates, info), 0600);
    write(o.junit_path, junit_xml(state.aggregates, info), 0644);
    write(o.metrics_file, prometheus_text(state.aggregates), 0644);
    return ok;
}

} // namespace

std::optional<std::string> cannot_run_reason() {
    if (auto missing = missing_capabilities())
        return "missing " + *missing;
    return missing_btf();
}

SessionOptions session_options(const Options &options) {
    SessionOptions s;
    s.probe.mode = parse_attach_mode(options.attach); // nullopt for "auto"
    s.filter = EventFilter{options.cgroup_prefix, options.container_prefix};
    s.tracker.stall_after_ns = std::uint64_t{options.stall_after_ms} * 1'000'000;
    if (options.ring_buffer_kib)
        s.probe.ring_buffer_bytes = *options.ring_buffer_kib * 1024;
    if (options.kretprobe_maxactive)
        s.probe.kretprobe_maxactive = *options.kretprobe_maxactive;
    return s;
}

int run_watch(const Options &options) {
    if (auto reason = cannot_run_reason()) {
        fmt::print(stderr, "freezeprobe: cannot run: {}\n", *reason);
        return exit_cannot_run;
    }
    if (auto bad = bad_output_path(options)) {
        fmt::print(stderr, "freezeprobe: {}\n", *bad);
        return exit_usage;
    }
    const bool live_table =
        options.events == EventFormat::text && ::isatty(STDOUT_FILENO) && options.wrapped.empty();
    // Per-cgroup stats only for the outputs that list cgroups: a node-wide daemon writing only
    // metrics keeps nothing per cgroup.
    RunState state(live_table || !options.report_path.empty() || !options.junit_path.empty());
    std::unique_ptr<MetricsServer> metrics;
    if (!options.metrics_address.empty()) {
        try {
            metrics = std::make_unique<MetricsServer>(options.metrics_address, [&state] {
                std::lock_guard lock(state.mu);
                return prometheus_text(state.aggregates);
            });
        } catch (const std::exception &e) {
            fmt::print(stderr, "freezeprobe: cannot run: --metrics {}: {}\n",
                       options.metrics_address, e.what());
            return exit_cannot_run;
        }
    }
    install_stop_handlers();
    // Events are flushed per batch (LineSink::flush); between flushes a 64 KiB buffer saves
    // write(2)s in a burst (stdio's default for a pipe or file is 4 KiB).
    if (!live_table)
        std::setvbuf(stdout, nullptr, _IOFBF, 64 * 1024);
    LineSink sink(options.events, stdout);
    std::unique_ptr<LiveView> live;
    if (live_table) {
        live = std::make_unique<LiveView>(stdout);
        sink.use_live_view(live.get());
    }
    RunInfo info;
    info.version = version_string;
    info.kernel = kernel_release();
    info.started_ns = WallClock().now();
    info.command = options.wrapped;
    auto started = monotonic_now_ns();
    std::unique_ptr<ProbeSession> session;
    LossWarning loss_warning;
    try {
        session = std::make_unique<ProbeSession>(session_options(options), [&](const Event &e) {
            if (auto *lost = std::get_if<Lost>(&e.body))
                loss_warning.lost(lost->count, monotonic_now_ns());
            sink(e);
            std::lock_guard lock(state.mu);
            state.aggregates.add(e);
        });
    } catch (const ProbeError &e) {
        fmt::print(stderr, "freezeprobe: cannot run: {}\n", e.what());
        if (options.verbose)
            for (auto &line : recent_libbpf_messages())
                fmt::print(stderr, "  libbpf: {}\n", line);
        return exit_cannot_run;
    }
    info.attach_mode = to_string(session->mode());
    for (const auto &r : session->refused_modes()) {
        info.attach_refused.emplace_back(to_string(r.mode), r.reason);
        fmt::print(stderr, "freezeprobe: attach mode {} refused: {}\n", to_string(r.mode),
                   r.reason);
    }
    for (const auto &note : session->mode_notes())
        fmt::print(stderr, "freezeprobe: note: {}\n", note);
    fmt::print(stderr, "freezeprobe: attached in {} (mode {}; {}){}\n",
               human_duration(monotonic_now_ns() - started), info.attach_mode,
               hierarchy_summary(session->hierarchies()),
               metrics ? "; metrics on http://" + metrics->address() + "/metrics" : "");

    std::unique_ptr<WrappedCommand> command;
    if (!options.wrapped.empty()) {
        try {
            command = std::make_unique<WrappedCommand>(options.wrapped);
        } catch (const std::exception &e) {
            fmt::print(stderr, "freezeprobe: {}\n", e.what());
            return exit_cannot_run;
        }
        fmt::print(stderr, "freezeprobe: running {} (pid {}) under the probe\n",
                   options.wrapped.front(), command->pid());
    } else {
        fmt::print(stderr, "freezeprobe: watching until {}\n",
                   options.duration_s ? fmt::format("{} s have passed", *options.duration_s)
                                      : std::string("Ctrl-C or SIGTERM"));
    }

    auto deadline = options.duration_s
                        ? started + static_cast<std::uint64_t>(*options.duration_s * 1e9)
                        : UINT64_MAX;
    auto next_metrics_file = monotonic_now_ns();
    auto next_table = monotonic_now_ns();
    bool forwarded = false;
    while (monotonic_now_ns() < deadline && !sink.failed()) {
        if (command && command->poll_exit())
            break;
        if (stop_signal && !command)
            break;
        if (stop_signal && !forwarded) {
            command->forward(stop_signal); // and keep watching until it has gone
            forwarded = true;
        }
        auto left_ms = (deadline - monotonic_now_ns()) / 1'000'000;
        session->poll(static_cast<int>(std::min<std::uint64_t>(left_ms + 1, 100)));
        if (live && monotonic_now_ns() >= next_table) {
            next_table = monotonic_now_ns() + 1'000'000'000ull;
            std::lock_guard lock(state.mu);
            live->table(status_table(state.aggregates, session->pending(), monotonic_now_ns(), 12,
                                     live->width()));
        }
        sink.flush();
        if (!options.metrics_file.empty() && monotonic_now_ns() >= next_metrics_file) {
            next_metrics_file = monotonic_now_ns() + 5'000'000'000ull;
            std::lock_guard lock(state.mu);
            try {
                write_file_atomically(options.metrics_file, prometheus_text(state.aggregates),
                                      0644);
            } catch (const std::exception &e) {
                fmt::print(stderr, "freezeprobe: {}\n", e.what());
            }
        }
    }
    session->finish();
    bool output_ok = sink.finish();
    live.reset(); // the last table stays on the screen above the exit lines
    info.ended_ns = WallClock().now();
    if (command)
        info.command_exit = command->poll_exit();
    bool reports_ok = write_reports(options, state, info);
    fmt::print(stderr, "freezeprobe: detached; {} events, {} lost\n", session->events_delivered(),
               session->events_lost());
    if (!output_ok) {
        fmt::print(stderr, "freezeprobe: stopped: writing events to stdout failed: {}\n",
                   std::strerror(sink.error()));
        return exit_cannot_run;
    }
    if (command && !info.command_exit) {
        fmt::print(stderr, "freezeprobe: {} (pid {}) still runs; killing it\n",
                   options.wrapped.front(), command->pid());
        return exit_cannot_run;
    }
    if (info.command_exit && *info.command_exit != 0) {
        fmt::print(stderr, "freezeprobe: {} exited with {}\n", options.wrapped.front(),
                   *info.command_exit);
        return *info.command_exit;
    }
    auto hit = failed_conditions(options, state.aggregates);
    if (!hit.empty()) {
        std::string list;
        for (auto &h : hit)
            list += (list.empty() ? "" : ", ") + h;
        fmt::print(stderr, "freezeprobe: --fail-on conditions hit: {}\n", list);
        return exit_fail_on;
    }
    return reports_ok ? exit_ok : exit_cannot_run;
}

} // namespace freezeprobe
