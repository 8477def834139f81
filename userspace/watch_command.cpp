// freezeprobe watch: attach, print events until Ctrl-C, SIGTERM or --duration, detach.
#include "commands.h"
#include "line_sink.h"
#include "privileges.h"
#include "probe_session.h"
#include "time_format.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>

namespace freezeprobe {
namespace {

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) {
    stop_requested = 1;
}

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // A closed output pipe must end the run cleanly, not kill us mid-write.
    std::signal(SIGPIPE, SIG_IGN);
}

std::string hierarchy_summary(const std::vector<Hierarchy> &hierarchies) {
    std::string v1_freezer, v2;
    for (auto &h : hierarchies) {
        if (h.version == 2 && v2.empty())
            v2 = h.mount_point;
        if (h.version == 1 && h.options.find("freezer") != std::string::npos)
            v1_freezer = h.mount_point;
    }
    return fmt::format("v1 freezer {}, v2 {}", v1_freezer.empty() ? "not mounted" : v1_freezer,
                       v2.empty() ? "not mounted" : v2);
}

} // namespace

std::optional<std::string> cannot_run_reason() {
    if (auto missing = missing_capabilities())
        return "missing " + *missing;
    return missing_btf();
}

SessionOptions session_options(const Options &options) {
    SessionOptions s;
    // Only the tracepoint mode exists in this build; "auto" therefore selects it.
    s.probe.mode = AttachMode::tracepoint;
    s.filter = EventFilter{options.cgroup_prefix, options.container_prefix};
    s.tracker.stall_after_ns = std::uint64_t{options.stall_after_ms} * 1'000'000;
    return s;
}

int run_watch(const Options &options) {
    if (auto reason = cannot_run_reason()) {
        fmt::print(stderr, "freezeprobe: cannot run: {}\n", *reason);
        return exit_cannot_run;
    }
    install_stop_handlers();
    LineSink sink(options.events, stdout);
    auto started = monotonic_now_ns();
    std::unique_ptr<ProbeSession> session;
    try {
        session = std::make_unique<ProbeSession>(session_options(options),
                                                 [&sink](const Event &e) { sink(e); });
    } catch (const ProbeError &e) {
        fmt::print(stderr, "freezeprobe: cannot run: {}\n", e.what());
        if (options.verbose)
            for (auto &line : recent_libbpf_messages())
                fmt::print(stderr, "  libbpf: {}\n", line);
        return exit_cannot_run;
    }
    fmt::print(stderr, "freezeprobe: attached in {} (mode {}; {}); watching until {}\n",
               human_duration(monotonic_now_ns() - started), to_string(session->mode()),
               hierarchy_summary(session->hierarchies()),
               options.duration_s ? fmt::format("{} s have passed", *options.duration_s)
                                  : std::string("Ctrl-C"));

    auto deadline = options.duration_s
                        ? started + static_cast<std::uint64_t>(*options.duration_s * 1e9)
                        : UINT64_MAX;
    while (!stop_requested && monotonic_now_ns() < deadline && !sink.failed()) {
        auto left_ms = (deadline - monotonic_now_ns()) / 1'000'000;
        session->poll(static_cast<int>(std::min<std::uint64_t>(left_ms + 1, 100)));
        sink.flush();
    }
    session->finish();
    bool output_ok = sink.finish();
    fmt::print(stderr, "freezeprobe: detached; {} events, {} lost\n", session->events_delivered(),
               session->events_lost());
    if (!output_ok) {
        fmt::print(stderr, "freezeprobe: stopped: writing events to stdout failed: {}\n",
                   std::strerror(errno));
        return exit_cannot_run;
    }
    return exit_ok;
}

} // namespace freezeprobe
