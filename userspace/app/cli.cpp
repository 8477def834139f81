#include "cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace freezeprobe {

// FREEZEPROBE_VERSION is the project() version in CMakeLists.txt, the one the release archive is
// named by.
const char *const version_string = "freezeprobe " FREEZEPROBE_VERSION;
const std::vector<std::string> fail_on_conditions = {"aborted", "stall", "held", "write-error",
                                                     "lost"};

namespace {

const char *const description =
    "freezeprobe explains why a cgroup freeze or a cgroup.procs write failed or was slow, per "
    "container: it watches writes to freezer.state, cgroup.freeze, cgroup.procs, tasks and "
    "cgroup.threads (cgroup v1 and v2) from the kernel and reports their value, errno, in-kernel "
    "latency, writer and container.";

const char *const footer = R"(Commands:
  watch (default)  attach and report until Ctrl-C, SIGTERM or --duration;
                   `watch [options] -- COMMAND ARGS...` runs COMMAND under the probe and stops
                   when it exits
  doctor           check that this kernel can run freezeprobe; exit 0 if it can
  demo             run a short scripted scenario in scratch cgroups under the probe

Exit codes:
  0 ok; 1 cannot run (the reason is printed; also a busy --metrics port); 2 usage error (also
  an unwritable --report/--junit/--metrics-file path); 3 a --fail-on condition hit. With a
  COMMAND: its exit status if it failed (128+N if killed by signal N), else 3 if a --fail-on
  condition hit, else 0.

Requirements:
  root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) and kernel BTF.)";

// CLI11's PositiveNumber prints the whole range of a double on error; say it plainly.
const CLI::Validator positive_seconds(
    [](std::string &text) -> std::string {
        char *end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(v > 0) || v > 1e9)
            return "must be a positive number of seconds (e.g. 30 or 1.5), not '" + text + "'";
        return {};
    },
    "", "positive seconds");

// libbpf wants a ring buffer of a power-of-two number of pages.
const CLI::Validator power_of_two_kib(
    [](std::string &text) -> std::string {
        char *end = nullptr;
        unsigned long v = std::strtoul(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || v < 4 || v > (1ul << 20) || (v & (v - 1)))
            return "must be a power of two from 4 to 1048576, not '" + text + "'";
        return {};
    },
    "", "KiB");

void add_watch_options(CLI::App &app, Options &o, std::string &events) {
    app.add_option("--duration", o.duration_s, "stop after SECONDS (default: until Ctrl-C)")
        ->type_name("SECONDS")
        ->check(positive_seconds);
    app.add_option("--events", events, "live event lines on stdout: text, json or none")
        ->check(CLI::IsMember({"text", "json", "none"}))
        ->type_name("FORMAT")
        ->default_str("text");
    app.add_option("--cgroup", o.cgroup_prefix,
                   "only cgroups under PREFIX (path from the hierarchy root, e.g. /kubepods)")
        ->type_name("PREFIX");
    app.add_option("--container", o.container_prefix, "only containers whose ID starts with PREFIX")
        ->type_name("ID-PREFIX");
    app.add_option("--namespace", o.namespace_name,
                   "only containers of Kubernetes pods in namespace NS (names come from the "
                   "node's files: /var/log/pods and the runtime's config.json)")
        ->type_name("NS");
    app.add_option("--pod", o.pod_name, "only containers of Kubernetes pods named NAME")
        ->type_name("NAME");
    app.add_option("--host-root", o.host_root,
                   "read the node's files that name containers (/var/log/pods, /run/containerd, "
                   "/run/containers) under DIR, e.g. /host in a container")
        ->type_name("DIR");
    app.add_option("--attach", o.attach,
                   "attach mode: auto picks the best the kernel allows (fentry, then kprobe, then "
                   "tracepoint); a named mode is used or the run fails")
        ->check(CLI::IsMember({"auto", "fentry", "kprobe", "tracepoint"}))
        ->type_name("MODE")
        ->default_str("auto");
    app.add_option("--stall-after", o.stall_after_ms,
                   "report the blockers of a freeze still pending after MS milliseconds")
        ->type_name("MS")
        ->check(CLI::Range(1u, 3'600'000u))
        ->default_str("500");
    app.add_option("--held-after", o.held_after_s,
                   "report a freeze left in effect (frozen or freezing, never thawed) for SECONDS "
                   "as freeze_held")
        ->type_name("SECONDS")
        ->check(CLI::Range(1u, 30u * 86400u))
        ->default_str("60");
    app.add_option("--report", o.report_path, "write the summary report (JSON) to FILE at exit")
        ->type_name("FILE");
    app.add_option("--junit", o.junit_path,
                   "write a JUnit XML file at exit: a testcase per container, a failure per "
                   "aborted, stalled or held freeze and per failed write")
        ->type_name("FILE");
    app.add_option("--metrics", o.metrics_address,
                   "serve Prometheus /metrics on HOST:PORT: a numeric address or localhost "
                   "(\":PORT\" means 127.0.0.1)")
        ->type_name("HOST:PORT");
    app.add_option("--metrics-file", o.metrics_file,
                   "rewrite PATH atomically with the metrics every 5 s and at exit "
                   "(node_exporter textfile collector)")
        ->type_name("PATH");
    app.add_option("--fail-on", o.fail_on,
                   "exit 3 if any of these happened: aborted, stall, held, write-error, lost")
        ->type_name("LIST")
        ->delimiter(',')
        ->check(CLI::IsMember(fail_on_conditions));
    app.add_flag("-v,--verbose", o.verbose,
                 "on a load or attach failure, print libbpf's last messages (verifier log)");
    // For tests that must see events lost: an empty group keeps it out of --help.
    app.add_option("--ring-buffer-kib", o.ring_buffer_kib,
                   "ring buffer size in KiB: a power of two, at least 4 (default 4096)")
        ->check(power_of_two_kib)
        ->group("");
    app.add_option("--kretprobe-maxactive", o.kretprobe_maxactive,
                   "kprobe mode: calls in flight at once whose return a kretprobe sees "
                   "(default 4096, the kernel's limit)")
        ->check(CLI::Range(1, 4096))
        ->group("");
}

} // namespace

ParsedCommandLine parse_command_line(const std::vector<std::string> &args) {
    Options o;
    CLI::App app(description, "freezeprobe");
    app.footer(footer);
    app.set_version_flag("--version", version_string);
    std::string events = "text";
    add_watch_options(app, o, events);
    auto *watch = app.add_subcommand("watch", "attach and report (the default)");
    watch->fallthrough();
    auto *doctor = app.add_subcommand("doctor", "check that this kernel can run freezeprobe");
    auto *demo = app.add_subcommand("demo", "run the built-in scenario under the probe");
    // The footer lists the commands with more to say; an empty group keeps CLI11 from listing
    // them a second time (and help2man from making a second section of them).
    for (auto *command : {watch, doctor, demo})
        command->group("");
    // Options may follow the command name: "freezeprobe demo --events json".
    doctor->fallthrough();
    demo->fallthrough();
    app.require_subcommand(0, 1);

    // "--" ends freezeprobe's own arguments: the rest is the command to run under the probe.
    auto dashes = std::find(args.begin() + (args.empty() ? 0 : 1), args.end(), "--");
    std::vector<std::string> reversed(std::make_reverse_iterator(dashes),
                                      args.rend() - (args.empty() ? 0 : 1));
    o.wrapped.assign(dashes == args.end() ? args.end() : dashes + 1, args.end());
    ParsedCommandLine result;
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp &) {
        // Every option lives on the top-level app (the commands fall through to it), so
        // "watch --help" shows the whole help rather than a subcommand's page without options.
        result.output =
            app.get_formatter()->make_help(&app, "freezeprobe", CLI::AppFormatMode::Normal);
        return result;
    } catch (const CLI::CallForAllHelp &) {
        result.output = app.help("", CLI::AppFormatMode::All);
        return result;
    } catch (const CLI::CallForVersion &) {
        result.output = std::string(version_string) + "\n";
        return result;
    } catch (const CLI::ParseError &e) {
        result.exit_code = exit_usage;
        result.output = "freezeprobe: " + std::string(e.what()) + " (see --help)\n";
        return result;
    }
    if (*doctor)
        o.command = Command::doctor;
    else if (*demo)
        o.command = Command::demo;
    (void)watch;
    if (dashes != args.end() && o.wrapped.empty()) {
        result.exit_code = exit_usage;
        result.output = "freezeprobe: \"--\" must be followed by a command to run\n";
        return result;
    }
    if (!o.wrapped.empty() && o.command != Command::watch) {
        result.exit_code = exit_usage;
        result.output = "freezeprobe: only watch runs a command (after \"--\")\n";
        return result;
    }
    o.events = events == "json"   ? EventFormat::json
               : events == "none" ? EventFormat::none
                                  : EventFormat::text;
    result.options = o;
    return result;
}

} // namespace freezeprobe
