// freezeprobe demo: the built-in scenario. It makes scratch cgroups named like real kubelet
// containers (one v1 freezer, one v2), runs freezes, joins and bad writes under the probe, prints
// what the probe saw, checks that it saw what was done, and removes everything it made.
#include "commands.h"
#include "line_sink.h"
#include "probe_session.h"
#include "scratch.h"
#include "text_util.h"
#include "written_value.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe {
namespace {

std::string random_hex(std::size_t n) {
    std::string bytes(n / 2, '\0');
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::read(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("reading /dev/urandom failed");
    ::close(fd);
    std::string hex;
    for (unsigned char c : bytes)
        hex += fmt::format("{:02x}", c);
    return hex;
}

std::string random_uuid() {
    auto h = random_hex(32);
    return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                       h.substr(16, 4), h.substr(20));
}

// A pid that names no process: a child that has exited and been reaped.
pid_t vanished_pid() {
    pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

bool wait_for(const std::function<bool()> &done, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// What the demo did, to compare with what the probe reported.
struct Expectation {
    std::string what;
    std::string type; // freeze_write | procs_write
    std::string value;
    int err;
};

class Demo {
  public:
    Demo(const Options &options, const Hierarchy &v1, const Hierarchy &v2)
        : prefix_(fmt::format("/freezeprobe-demo-{}", ::getpid())), pod_uid_(random_uuid()),
          v1_id_(random_hex(64)), v2_id_(random_hex(64)), sink_(options.events, stdout),
          v1_(v1, fmt::format("{}/kubepods/burstable/pod{}/{}", prefix_, pod_uid_, v1_id_)),
          v2_(v2, fmt::format("{0}/kubepods.slice/kubepods-besteffort.slice/"
                              "kubepods-besteffort-pod{1}.slice/cri-containerd-{2}.scope",
                              prefix_, underscored(pod_uid_), v2_id_)) {}

    int run(const Options &options);

  private:
    static std::string underscored(std::string s) {
        std::replace(s.begin(), s.end(), '-', '_');
        return s;
    }
    void step(const std::string &text) {
        sink_.flush();
        fmt::print("\ndemo: step {}: {}\n", ++step_, text);
        std::fflush(stdout);
    }
    void write(const ScratchCgroup &cg, const char *file, const std::string &value,
               const std::string &what) {
        int err = write_control_file(cg.file(file), value);
        bool freeze = std::string(file) == "freezer.state" || std::string(file) == "cgroup.freeze";
        expected_.push_back(
            {what, freeze ? "freeze_write" : "procs_write", std::string(trim(value)), err});
        session_->poll(20);
    }
    void on_event(const Event &e);
    int check();

    std::string prefix_, pod_uid_, v1_id_, v2_id_;
    LineSink sink_;
    SleeperProcess sleeper_; // declared before the cgroups: they are removed first
    SleeperProcess joiner_;
    ScratchCgroup v1_, v2_;
    std::unique_ptr<ProbeSession> session_;
    std::vector<Expectation> expected_;
    std::vector<Event> seen_;
    int step_ = 0;
};

void Demo::on_event(const Event &e) {
    sink_(e);
    seen_.push_back(e);
}

int Demo::run(const Options &options) {
    step("attach the probe, watching only this demo's cgroups");
    auto session = session_options(options);
    session.filter = EventFilter{prefix_, ""};
    session_ = std::make_unique<ProbeSession>(session, [this](const Event &e) { on_event(e); });
    fmt::print("demo: v1 container {} (cgroupfs driver, burstable pod {})\n      at {}\n",
               v1_id_.substr(0, 12), pod_uid_, v1_.dir());
    fmt::print("demo: v2 container {} (systemd driver, besteffort pod {})\n      at {}\n",
               v2_id_.substr(0, 12), pod_uid_, v2_.dir());

    auto pid = std::to_string(sleeper_.pid());
    step(fmt::format("a process (pid {}) joins both containers through cgroup.procs", pid));
    write(v1_, "cgroup.procs", pid, "join v1");
    write(v2_, "cgroup.procs", pid, "join v2");

    step("freeze and thaw the v1 container (freezer.state)");
    write(v1_, "freezer.state", "FROZEN", "v1 freeze");
    wait_for([&] { return trim(read_control_file(v1_.file("freezer.state"))) == "FROZEN"; },
             std::chrono::seconds(2));
    write(v1_, "freezer.state", "THAWED", "v1 thaw");

    step("freeze the v2 container (cgroup.freeze); a second process joins while it is frozen");
    write(v2_, "cgroup.freeze", "1", "v2 freeze");
    wait_for(
        [&] {
            return read_control_file(v2_.file("cgroup.events")).find("frozen 1") !=
                   std::string::npos;
        },
        std::chrono::seconds(2));
    write(v2_, "cgroup.procs", std::to_string(joiner_.pid()), "join during freeze");
    write(v2_, "cgroup.freeze", "0", "v2 thaw");

    step("bad writes: each must come back with the kernel's errno");
    write(v1_, "freezer.state", "BOGUS", "bad v1 state");
    write(v2_, "cgroup.freeze", "2", "out-of-range v2 value");
    write(v2_, "cgroup.procs", "abc", "not a pid");
    write(v1_, "cgroup.procs", std::to_string(vanished_pid()), "pid that does not exist");

    step("collect the last events and compare with what was done");
    session_->poll(200);
    session_->drain();
    sink_.flush();
    int rc = check();
    v2_.remove();
    v1_.remove();
    fmt::print("demo: removed the scratch cgroups under {}\n", prefix_);
    return rc;
}

int Demo::check() {
    std::vector<bool> used(seen_.size());
    int missing = 0;
    for (auto &want : expected_) {
        bool found = false;
        for (std::size_t i = 0; i < seen_.size() && !found; ++i) {
            auto &e = seen_[i];
            if (used[i] || type_name(e) != want.type)
                continue;
            auto *f = std::get_if<FreezeWrite>(&e.body);
            auto *p = std::get_if<ProcsWrite>(&e.body);
            auto value = f ? f->value : p->value;
            int err = f ? f->err : p->err;
            if (value == want.value && err == want.err)
                found = used[i] = true;
        }
        auto result = want.err ? errno_name(want.err).value_or("?") : std::string("ok");
        fmt::print("demo: {:<26} {:<13} {:<10} {:<7} {}\n", want.what, want.type, want.value,
                   result, found ? "seen" : "NOT SEEN");
        missing += !found;
    }
    fmt::print("demo: {} writes made, {} events seen, {} lost, {} missing\n", expected_.size(),
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
        return demo.run(options);
    } catch (const std::exception &e) {
        fmt::print(stderr, "freezeprobe: demo failed: {}\n", e.what());
        return exit_cannot_run;
    }
}

} // namespace freezeprobe
