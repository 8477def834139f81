// freezeprobe_scan_bench: what the blocker scan costs on a big node. A crowd process holds N
// threads (the node's other tasks), one freeze is held up by a task stuck in a FUSE read, and
// freezeprobe watches it; its CPU time (utime + stime from /proc/PID/stat, read from outside) is
// measured over S seconds of the stuck freeze. Root only.
//
//   freezeprobe_scan_bench [--threads N] [--seconds S] [--hierarchy v1|v2] [--binary PATH] [--walk]
//
// --walk scans as kernels before 6.1 must (one walk of every task per scan instead of one
// iteration per thread of the cgroup): it runs the probe with FREEZEPROBE_TASK_SCAN=walk.
//
// Prints the figure and exits 0 if the probe reported the stall naming the stuck task (so the
// scan really ran), 1 otherwise. Everything it made is removed; the crowd is killed by its PID.
#include "cgroup_hierarchies.h"
#include "hang_fuse.h"
#include "process.h"
#include "scratch.h"
#include "text_util.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

using namespace std::chrono_literals;

struct Settings {
    int threads = 30000;
    double seconds = 30;
    int version = 1;
    std::string binary = FREEZEPROBE_BINARY;
};

// A forked child holding n threads that sleep; killed by its PID and reaped on destruction.
class Crowd {
  public:
    explicit Crowd(int n) {
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2");
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork");
        if (pid_ == 0) {
            ::close(ready[0]);
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setstacksize(&attr, 64 * 1024);
            int made = 0;
            for (; made < n; ++made) {
                pthread_t t;
                if (pthread_create(
                        &t, &attr,
                        [](void *) -> void * {
                            for (;;)
                                ::pause();
                        },
                        nullptr) != 0)
                    break;
            }
            [[maybe_unused]] auto w = ::write(ready[1], &made, sizeof(made));
            for (;;)
                ::pause();
        }
        ::close(ready[1]);
        int made = -1;
        auto n_read = ::read(ready[0], &made, sizeof(made));
        ::close(ready[0]);
        if (n_read != sizeof(made) || made != n)
            throw std::runtime_error(fmt::format("the crowd made {} of {} threads", made, n));
    }
    ~Crowd() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

// The freezeprobe binary watching prefix, its events in a file; stopped by its PID.
class Probe {
  public:
    Probe(const Settings &s, const std::string &prefix) {
        out_ = fmt::format("/tmp/freezeprobe-scanbench-{}.out", ::getpid());
        err_ = fmt::format("/tmp/freezeprobe-scanbench-{}.err", ::getpid());
        // Events and messages to files, read at the end.
        pid_ =
            spawn_process({s.binary, "watch", "--events", "json", "--cgroup", prefix},
                          {ChildStdio::null,
                           false,
                           {},
                           [this] {
                               ::dup2(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
                               ::dup2(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
                           }})
                .pid;
    }
    ~Probe() {
        stop();
        ::unlink(out_.c_str());
        ::unlink(err_.c_str());
    }
    void stop() {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    pid_t pid() const { return pid_; }
    std::string err() const { return read_file(err_); }
    std::string out() const { return read_file(out_); }

  private:
    pid_t pid_ = -1;
    std::string out_, err_;
};

// utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
long cpu_ticks(pid_t pid) {
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14)
            utime = std::stol(field);
        if (i == 15)
            stime = std::stol(field);
    }
    return utime + stime;
}

bool stall_names(const std::string &json_lines, pid_t pid) {
    for (auto line : split(json_lines, '\n')) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || j.value("type", "") != "freeze_stall")
            continue;
        for (auto &b : j["blockers"])
            if (b.value("pid", 0) == pid)
                return true;
    }
    return false;
}

int run(const Settings &s) {
    auto hierarchies = discover_hierarchies();
    const Hierarchy *h =
        s.version == 1 ? find_v1_controller(hierarchies, "freezer") : find_v2(hierarchies);
    if (!h) {
        fmt::print(stderr, "scan_bench: no {} hierarchy mounted\n",
                   s.version == 1 ? "v1 freezer" : "cgroup v2");
        return 1;
    }
    auto prefix = fmt::format("/freezeprobe-scanbench-{}", ::getpid());
    std::unique_ptr<Crowd> crowd;
    if (s.threads > 0)
        crowd = std::make_unique<Crowd>(s.threads);
    ScratchCgroup cg(*h, prefix + "/stuck");
    HeldReader held(cg);
    auto &reader = held.reader();
    auto &fuse = held.fuse();
    Probe probe(s, prefix);
    for (int i = 0; i < 300 && probe.err().find("attached") == std::string::npos; ++i)
        std::this_thread::sleep_for(100ms);
    if (probe.err().find("attached") == std::string::npos)
        throw std::runtime_error("freezeprobe did not attach: " + probe.err());
    write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
    std::this_thread::sleep_for(2s); // the first blocker scans and the stall report
    long before = cpu_ticks(probe.pid());
    auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
    long after = cpu_ticks(probe.pid());
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu_s =
        static_cast<double>(after - before) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    probe.stop();
    bool stalled = stall_names(probe.out(), reader.pid());
    fmt::print("scan_bench: {} threads in the crowd, v{} freeze held by a FUSE read: freezeprobe "
               "used {:.2f} s of CPU in {:.1f} s = {:.2f}% of one core; stall naming pid {}: {}\n",
               s.threads, s.version, cpu_s, wall, 100.0 * cpu_s / wall, reader.pid(),
               stalled ? "reported" : "NOT reported");
    fuse.answer_reads();
    return stalled ? 0 : 1;
}

} // namespace
} // namespace freezeprobe

int main(int argc, char **argv) {
    freezeprobe::Settings s;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                fmt::print(stderr, "scan_bench: {} needs a value\n", a);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--threads")
            s.threads = std::stoi(value());
        else if (a == "--seconds")
            s.seconds = std::stod(value());
        else if (a == "--hierarchy")
            s.version = value() == "v2" ? 2 : 1;
        else if (a == "--binary")
            s.binary = value();
        else if (a == "--walk")
            ::setenv("FREEZEPROBE_TASK_SCAN", "walk", 1); // the probe inherits it
        else {
            fmt::print(stderr, "usage: freezeprobe_scan_bench [--threads N] [--seconds S] "
                               "[--hierarchy v1|v2] [--binary PATH] [--walk]\n");
            return 2;
        }
    }
    if (::geteuid() != 0) {
        fmt::print(stderr, "scan_bench: needs root\n");
        return 1;
    }
    try {
        return freezeprobe::run(s);
    } catch (const std::exception &e) {
        fmt::print(stderr, "scan_bench: {}\n", e.what());
        return 1;
    }
}
