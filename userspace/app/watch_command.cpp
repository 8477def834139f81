// freezeprobe watch: attach, report events until Ctrl-C, SIGTERM, --duration or the end of the
// wrapped command, then write the reports and exit with the documented code. Everything that can
// be checked before attaching (paths, the metrics port) is checked first.
#include "commands.h"
#include "exit_policy.h"
#include "privileges.h"
#include "probe_session.h"
#include "run_info.h"
#include "time_format.h"
#include "watch_outputs.h"
#include "wrapped_command.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
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

} // namespace

std::optional<std::string> cannot_run_reason() {
    if (auto missing = missing_capabilities())
        return "missing " + *missing;
    return missing_btf();
}

SessionOptions session_options(const Options &options) {
    SessionOptions s;
    s.probe.mode = parse_attach_mode(options.attach); // nullopt for "auto"
    s.filter = EventFilter{options.cgroup_prefix, options.container_prefix, options.namespace_name,
                           options.pod_name};
    s.host_root = options.host_root;
    s.tracker.stall_after_ns = std::uint64_t{options.stall_after_ms} * 1'000'000;
    s.tracker.held_after_ns = std::uint64_t{options.held_after_s} * 1'000'000'000;
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
    std::unique_ptr<WatchOutputs> outputs;
    try {
        outputs = std::make_unique<WatchOutputs>(options);
    } catch (const std::exception &e) {
        fmt::print(stderr, "freezeprobe: cannot run: --metrics {}: {}\n", options.metrics_address,
                   e.what());
        return exit_cannot_run;
    }
    install_stop_handlers();
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
            outputs->add(e);
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
               hierarchy_summary(session->hierarchies()), outputs->metrics_note());

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
    bool forwarded = false;
    while (monotonic_now_ns() < deadline && !outputs->failed()) {
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
        outputs->tick(session->pending(), monotonic_now_ns());
        outputs->flush();
    }
    session->finish();
    RunEnd end;
    end.output_ok = outputs->finish();
    end.output_errno = outputs->error();
    info.ended_ns = WallClock().now();
    if (command) {
        info.command_exit = command->poll_exit();
        end.command = options.wrapped.front();
        end.command_exit = info.command_exit;
    }
    end.reports_ok = outputs->write_reports(info);
    end.fail_on_hit = outputs->fail_on_hit();
    fmt::print(stderr, "freezeprobe: detached; {} events, {} lost\n", session->events_delivered(),
               session->events_lost());
    auto decision = decide_exit(end);
    if (!decision.message.empty())
        fmt::print(stderr, "freezeprobe: {}\n", decision.message);
    return decision.code;
}

} // namespace freezeprobe
