// freezeprobe demo: the built-in scenario. It makes scratch cgroups named like real kubelet
// containers (one v1 freezer, one v2), attaches the probe, and runs freezes, joins, bad writes, a
// freeze held up by a task blocked in a FUSE read and, when runc is installed, a real container
// whose `runc pause` fails with "unable to freeze". It prints what the probe saw, checks that it
// saw what was done, and removes everything it made.
#include "commands.h"
#include "hang_fuse.h"
#include "line_sink.h"
#include "probe_session.h"
#include "runc_container.h"
#include "scratch.h"
#include "text_util.h"
#include "written_value.h"

#include <algorithm>
#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <future>
#include <sys/wait.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

using namespace std::chrono_literals;

std::string underscored(std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

// Something the demo did, and how to recognise the probe's report of it.
struct Expectation {
    std::string what;
    std::function<bool(const Event &)> matches;
    bool seen = false;
};

bool is_write(const Event &e, const std::string &cgroup, const std::string &value, int err) {
    if (!e.cgroup || e.cgroup->path != cgroup)
        return false;
    if (auto *f = std::get_if<FreezeWrite>(&e.body))
        return f->value == value && f->err == err;
    if (auto *p = std::get_if<ProcsWrite>(&e.body))
        return p->value == value && p->err == err;
    return false;
}

bool is_episode(const Event &e, const std::string &cgroup, EpisodeOutcome outcome) {
    auto *ep = std::get_if<FreezeEpisode>(&e.body);
    return ep && ep->outcome == outcome && e.cgroup && e.cgroup->path == cgroup;
}

bool names_fuse_blocker(const std::vector<Blocker> &blockers, pid_t pid) {
    return std::any_of(blockers.begin(), blockers.end(), [&](const Blocker &b) {
        return b.pid == static_cast<std::uint32_t>(pid) && b.wchan == "request_wait_answer";
    });
}

class Demo {
  public:
    Demo(const Options &options, const Hierarchy &v1, const Hierarchy &v2)
        : options_(options), prefix_(fmt::format("/freezeprobe-demo-{}", ::getpid())),
          pod_uid_(random_uuid()), v1_id_(random_hex(64)), v2_id_(random_hex(64)),
          sink_(options.events, stdout),
          v1_(v1, fmt::format("{}/kubepods/burstable/pod{}/{}", prefix_, pod_uid_, v1_id_)),
          v2_(v2, fmt::format("{0}/kubepods.slice/kubepods-besteffort.slice/"
                              "kubepods-besteffort-pod{1}.slice/cri-containerd-{2}.scope",
                              prefix_, underscored(pod_uid_), v2_id_)) {}

    int run();

  private:
    void step(const std::string &text);
    void say(const std::string &text) { fmt::print("demo: {}\n", text); }
    void expect(std::string what, std::function<bool(const Event &)> matches) {
        expected_.push_back({std::move(what), std::move(matches)});
    }
    // One write, expected to be reported with the errno it really got.
    void write(const ScratchCgroup &cg, const char *file, const std::string &value,
               const std::string &what);
    // Keeps the probe polled (events printed as they come) until pred holds or timeout.
    bool pump_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout);
    void pump_for(std::chrono::milliseconds duration) {
        pump_until([] { return false; }, duration);
    }
    bool seen(const std::function<bool(const Event &)> &pred) const {
        return std::any_of(seen_.begin(), seen_.end(), pred);
    }

    void basic_freezes();
    void bad_writes();
    void stuck_freeze();
    void runc_containers();
    int check();

    const Options &options_;
    std::string prefix_, pod_uid_, v1_id_, v2_id_;
    LineSink sink_;
    SleeperProcess sleeper_; // declared before the cgroups: they are removed first
    ScratchCgroup v1_, v2_;
    std::unique_ptr<ProbeSession> session_;
    std::vector<Expectation> expected_;
    std::vector<Event> seen_;
    int step_ = 0;
};

void Demo::step(const std::string &text) {
    sink_.flush();
    fmt::print("\ndemo: step {}: {}\n", ++step_, text);
    std::fflush(stdout);
}

void Demo::write(const ScratchCgroup &cg, const char *file, const std::string &value,
                 const std::string &what) {
    int err = write_control_file(cg.file(file), value);
    auto trimmed = std::string(trim(value));
    expect(fmt::format("{:<28} {:<10} {}", what, trimmed,
                       err ? errno_name(err).value_or("?") : std::string("ok")),
           [path = cg.path(), trimmed, err](const Event &e) {
               return is_write(e, path, trimmed, err);
           });
    session_->poll(5);
}

bool Demo::pump_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        session_->poll(20);
        sink_.flush();
    }
    return true;
}

void Demo::basic_freezes() {
    auto pid = std::to_string(sleeper_.pid());
    step(fmt::format("a process (pid {}) joins both containers through cgroup.procs", pid));
    write(v1_, "cgroup.procs", pid, "join v1");
    write(v2_, "cgroup.procs", pid, "join v2");

    step("freeze and thaw the v1 container (freezer.state), reading the state like runc");
    write(v1_, "freezer.state", "FROZEN", "v1 freeze");
    pump_until([&] { return trim(read_control_file(v1_.file("freezer.state"))) == "FROZEN"; }, 2s);
    write(v1_, "freezer.state", "THAWED", "v1 thaw");
    auto v1 = v1_.path();
    expect("v1 episode: frozen",
           [v1](auto &e) { return is_episode(e, v1, EpisodeOutcome::frozen); });
    expect("v1 episode: thawed",
           [v1](auto &e) { return is_episode(e, v1, EpisodeOutcome::thawed); });

    step("freeze the v2 container (cgroup.freeze); a second process joins while it is frozen");
    SleeperProcess joiner;
    write(v2_, "cgroup.freeze", "1", "v2 freeze");
    pump_until(
        [&] {
            return seen([&](auto &e) { return is_episode(e, v2_.path(), EpisodeOutcome::frozen); });
        },
        2s);
    write(v2_, "cgroup.procs", std::to_string(joiner.pid()), "join during the freeze");
    expect("the join is flagged during_freeze", [](auto &e) {
        auto *p = std::get_if<ProcsWrite>(&e.body);
        return p && p->during_freeze;
    });
    write(v2_, "cgroup.freeze", "0", "v2 thaw");
    auto v2 = v2_.path();
    expect("v2 episode: frozen",
           [v2](auto &e) { return is_episode(e, v2, EpisodeOutcome::frozen); });
    expect("v2 episode: thawed with 1 join", [v2](auto &e) {
        return is_episode(e, v2, EpisodeOutcome::thawed) &&
               std::get<FreezeEpisode>(e.body).counts.joins == 1;
    });
    pump_for(50ms);
}

void Demo::bad_writes() {
    step("bad writes: each must come back with the kernel's errno");
    write(v1_, "freezer.state", "BOGUS", "bad v1 state");
    write(v2_, "cgroup.freeze", "2", "out-of-range v2 value");
    write(v2_, "cgroup.procs", "abc", "not a pid");
    write(v1_, "cgroup.procs", std::to_string(vanished_pid()), "pid that does not exist");
    pump_for(50ms);
}

void Demo::stuck_freeze() {
    step("a stuck freeze: a process of the v1 container reads a FUSE file that is never "
         "answered, and the container is frozen; the demo answers the read after 2 s");
    HangReader reader;
    ThawGuard thaw(v1_);
    HangFuse fuse;
    reader.start(fuse.file_path(), {v1_.file("cgroup.procs")});
    if (!fuse.wait_for_held_reads(1, 5s))
        throw std::runtime_error("the FUSE read was not held");
    say(fmt::format("pid {} is blocked reading {}", reader.pid(), fuse.file_path()));
    write(v1_, "freezer.state", "FROZEN", "v1 freeze, held up");
    auto pid = reader.pid();
    expect("stall names the FUSE reader", [pid](auto &e) {
        auto *s = std::get_if<FreezeStall>(&e.body);
        return s && names_fuse_blocker(s->blockers, pid);
    });
    pump_for(2s);
    say("answering the FUSE read");
    fuse.answer_reads();
    auto v1 = v1_.path();
    auto frozen_episodes = [&] {
        return std::count_if(seen_.begin(), seen_.end(),
                             [&](auto &e) { return is_episode(e, v1, EpisodeOutcome::frozen); });
    };
    auto before = frozen_episodes();
    pump_until([&] { return frozen_episodes() > before; }, 3s);
    expect("episode: frozen after the wait", [v1](auto &e) {
        return is_episode(e, v1, EpisodeOutcome::frozen) &&
               std::get<FreezeEpisode>(e.body).duration_ns >= 2'000'000'000;
    });
    write(v1_, "freezer.state", "THAWED", "v1 thaw");
    reader.wait_exit(2s);
    pump_for(50ms);
}

void Demo::runc_containers() {
    auto runc = find_runc();
    if (!runc) {
        step("real containers: runc is not installed, skipped (tools/setup.sh installs it)");
        return;
    }
    auto pod = random_uuid();
    auto id = random_hex(64);
    auto cgroup = fmt::format("{}/kubepods/besteffort/pod{}/{}", prefix_, pod, id);
    step(fmt::format("a real container ({}): runc pause, then runc resume", runc_version()));
    {
        RuncContainer container(RuncContainerSpec{id, cgroup, {"/bin/sleep", "3600"}, {}});
        say(fmt::format("container {} runs pid {} in {}", id.substr(0, 12), container.init_pid(),
                        cgroup));
        say(fmt::format("runc pause: exit {}", container.pause().exit_code));
        pump_for(50ms);
        say(fmt::format("runc resume: exit {}", container.resume().exit_code));
        pump_for(300ms);
    }
    expect("runc pause: frozen episode", [cgroup](auto &e) {
        return is_episode(e, cgroup, EpisodeOutcome::frozen) &&
               std::get<FreezeEpisode>(e.body).writer.comm == "runc";
    });
    expect("runc resume: thawed episode",
           [cgroup](auto &e) { return is_episode(e, cgroup, EpisodeOutcome::thawed); });

    auto id2 = random_hex(64);
    auto cgroup2 = fmt::format("{}/kubepods/besteffort/pod{}/{}", prefix_, pod, id2);
    step("the same with the container's process blocked in a FUSE read: runc pause fails with "
         "\"unable to freeze\"");
    HangFuse fuse;
    RuncContainer container(RuncContainerSpec{
        id2, cgroup2, {"/bin/cat", "/hang/hang"}, {{fuse.mount_point(), "/hang"}}});
    struct Release { // released before the container is deleted
        HangFuse &fuse;
        ~Release() { fuse.abort_connection(); }
    } release{fuse};
    if (!fuse.wait_for_held_reads(1, 10s))
        throw std::runtime_error("the container's FUSE read was not held");
    pid_t cat = container.init_pid();
    say(fmt::format("container {}: cat (pid {}) is blocked reading /hang/hang", id2.substr(0, 12),
                    cat));
    auto pausing = std::async(std::launch::async, [&] { return container.pause(); });
    pump_until([&] { return pausing.wait_for(0s) == std::future_status::ready; }, 60s);
    auto paused = pausing.get();
    say(fmt::format("runc pause: exit {}: {}", paused.exit_code,
                    escape_for_terminal(std::string(trim(paused.err)))));
    pump_for(400ms);
    expect("runc's retry loop: one aborted episode naming cat", [cgroup2, cat](auto &e) {
        if (!is_episode(e, cgroup2, EpisodeOutcome::aborted))
            return false;
        auto &ep = std::get<FreezeEpisode>(e.body);
        return ep.counts.writes >= 1000 && names_fuse_blocker(ep.blockers, cat);
    });
}

int Demo::run() {
    step("attach the probe, watching only this demo's cgroups");
    auto options = session_options(options_);
    options.filter = EventFilter{prefix_, "", "", ""};
    session_ = std::make_unique<ProbeSession>(options, [this](const Event &e) {
        sink_(e);
        seen_.push_back(e);
    });
    say(fmt::format("v1 container {} (cgroupfs driver, burstable pod {})\n      at {}",
                    v1_id_.substr(0, 12), pod_uid_, v1_.dir()));
    say(fmt::format("v2 container {} (systemd driver, besteffort pod {})\n      at {}",
                    v2_id_.substr(0, 12), pod_uid_, v2_.dir()));
    basic_freezes();
    bad_writes();
    stuck_freeze();
    runc_containers();
    step("compare what the probe reported with what was done");
    session_->finish();
    sink_.finish();
    int rc = check();
    session_.reset();
    v2_.remove();
    v1_.remove();
    say(fmt::format("removed the scratch cgroups under {}", prefix_));
    return rc;
}

int Demo::check() {
    int missing = 0;
    for (auto &want : expected_) {
        want.seen = std::any_of(seen_.begin(), seen_.end(), want.matches);
        fmt::print("demo: {:<60} {}\n", want.what, want.seen ? "seen" : "NOT SEEN");
        missing += !want.seen;
    }
    fmt::print("demo: {} expectations, {} events seen, {} lost, {} missing\n", expected_.size(),
               seen_.size(), session_->events_lost(), missing);
    return missing ? exit_cannot_run : exit_ok;
}

} // namespace

int run_demo(const Options &options) {
    if (auto reason = cannot_run_reason()) {
        fmt::print(stderr, "freezeprobe: cannot run the demo: {}\n", *reason);
        return exit_cannot_run;
    }
    auto hierarchies = discover_hierarchies();
    const Hierarchy *v1 = find_v1_controller(hierarchies, "freezer");
    const Hierarchy *v2 = find_v2(hierarchies);
    if (!v1 || !v2) {
        fmt::print(stderr,
                   "freezeprobe: the demo needs both a v1 freezer and a cgroup v2 mount "
                   "(found: v1 freezer {}, v2 {})\n",
                   v1 ? v1->mount_point : "none", v2 ? v2->mount_point : "none");
        return exit_cannot_run;
    }
    try {
        Demo demo(options, *v1, *v2);
        return demo.run();
    } catch (const std::exception &e) {
        fmt::print(stderr, "freezeprobe: demo failed: {}\n", e.what());
        return exit_cannot_run;
    }
}

} // namespace freezeprobe
