// freezeprobe_soak: runs the freezeprobe binary as a node daemon would (--events json on a pipe,
// --metrics-file) for a while under mixed cgroup churn, and checks that it holds up:
//   - freezes and thaws of long-lived cgroups of the v1 freezer and of cgroup v2 (those the
//     layout mounts: v2 alone on a v2-only host), with a process in each;
//   - migrations of processes between them (cgroup.procs writes), and failed writes;
//   - short-lived cgroups named like kubelet containers, created, joined, frozen, thawed, left
//     and removed;
//   - every minute, a freeze held up by a process stuck in a FUSE read, released after 3 s.
// Then: RSS flat after the warm-up (growth below 1 MiB), no event lost, and every freeze cycle
// closed (a thawed/aborted/removed episode each, none open at exit). Root only.
//
//   freezeprobe_soak [--duration SECONDS] [--warmup SECONDS] [--binary PATH]
//
// Prints the figures and exits 0 when every check passes, 1 otherwise.
#include "cgroup_hierarchies.h"
#include "hang_fuse.h"
#include "process.h"
#include "scratch.h"
#include "text_util.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Settings {
    double duration_s = 600;
    // Default: a third of the run, at most 180 s: long enough, under the churn below, to fill the
    // bounded caches (removed paths for 10 s, the episode series of 1000 containers).
    double warmup_s = -1;
    std::string binary = FREEZEPROBE_BINARY;
};

// What the probe printed, counted by a thread that drains its stdout (a full pipe would stall
// the probe and make it lose events).
struct Counts {
    std::mutex mu;
    std::map<std::string, std::uint64_t> types, outcomes;
    std::uint64_t lost = 0, bad_lines = 0;
};

class Probe {
  public:
    Probe(const Settings &s, const std::vector<std::string> &args, Counts &counts)
        : counts_(counts) {
        err_path_ = fmt::format("/tmp/freezeprobe-soak-{}.err", ::getpid());
        std::vector<std::string> argv{s.binary};
        argv.insert(argv.end(), args.begin(), args.end());
        // stdout is read here; stderr goes to a file, read when the soak fails.
        auto child = spawn_process(argv, {ChildStdio::pipe, false, {}, [this] {
                                              int err = ::open(err_path_.c_str(),
                                                               O_WRONLY | O_CREAT | O_TRUNC, 0600);
                                              ::dup2(err, 2);
                                          }});
        pid_ = child.pid;
        ::close(child.err_fd);
        reader_ = std::thread([this, fd = child.out_fd] { read_lines(fd); });
    }
    ~Probe() {
        if (pid_ > 0 && !exit_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (reader_.joinable())
            reader_.join();
        ::unlink(err_path_.c_str());
    }
    pid_t pid() const { return pid_; }
    bool attached(std::chrono::seconds timeout) {
        for (auto until = Clock::now() + timeout; Clock::now() < until;
             std::this_thread::sleep_for(50ms))
            if (stderr_text().find("attached") != std::string::npos)
                return true;
        return false;
    }
    std::string stderr_text() const { return read_file(err_path_); }
    int stop() {
        ::kill(pid_, SIGINT);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        reader_.join();
        return *exit_;
    }

  private:
    void read_lines(int fd) {
        std::string buf;
        char chunk[65536];
        ssize_t n;
        while ((n = ::read(fd, chunk, sizeof chunk)) > 0) {
            buf.append(chunk, n);
            std::size_t start = 0, nl;
            while ((nl = buf.find('\n', start)) != std::string::npos) {
                count(std::string_view(buf).substr(start, nl - start));
                start = nl + 1;
            }
            buf.erase(0, start);
        }
        ::close(fd);
    }
    void count(std::string_view line) {
        std::lock_guard lock(counts_.mu);
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.contains("type")) {
            ++counts_.bad_lines;
            return;
        }
        auto type = j["type"].get<std::string>();
        ++counts_.types[type];
        if (type == "lost")
            counts_.lost += j["count"].get<std::uint64_t>();
        if (type == "freeze_episode")
            ++counts_.outcomes[j["outcome"].get<std::string>()];
    }

    Counts &counts_;
    pid_t pid_ = -1;
    std::optional<int> exit_;
    std::string err_path_;
    std::thread reader_;
};

// VmRSS and the CPU time of a process.
struct Usage {
    std::uint64_t rss_kib = 0;
    double cpu_s = 0;
};

Usage usage_of(pid_t pid) {
    Usage u;
    for (auto line : split(read_file(fmt::format("/proc/{}/status", pid)), '\n'))
        if (line.starts_with("VmRSS:"))
            u.rss_kib = std::stoull(std::string(trim(line.substr(6))));
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    auto fields = split(stat.substr(stat.rfind(')') + 2), ' ');
    if (fields.size() > 12)
        u.cpu_s = (std::stod(std::string(fields[11])) + std::stod(std::string(fields[12]))) /
                  static_cast<double>(::sysconf(_SC_CLK_TCK));
    return u;
}

// The churn, with what it did.
class Churn {
  public:
    // freezers: the v1 freezer and cgroup v2 hierarchies, one or both. pool_ holds two cgroups
    // of each, in the order of freezers repeated: pool_[k] and pool_[k + n] are of freezers[k].
    Churn(std::vector<const Hierarchy *> freezers, std::string prefix)
        : freezers_(std::move(freezers)), prefix_(std::move(prefix)) {
        for (int i = 0; i < 2; ++i)
            for (auto *h : freezers_) {
                pool_.push_back(std::make_unique<ScratchCgroup>(
                    *h, fmt::format("{}/pool/{}-{}", prefix_, h->version == 1 ? "v1" : "v2", i)));
                sleepers_.push_back(std::make_unique<SleeperProcess>());
                join(*pool_.back(), sleepers_.back()->pid());
            }
    }

    ~Churn() {
        while (!pool_.empty()) // the first one made the parent directories: remove it last
            pool_.pop_back();
    }

    // One round: every pool cgroup frozen and thawed, sleepers moved, one short-lived cgroup, a
    // failed write.
    void round() {
        for (auto &cg : pool_)
            freeze_cycle(*cg);
        auto n = freezers_.size();
        auto &a = *pool_[round_ % pool_.size()], &b = *pool_[(round_ + n) % pool_.size()];
        join(b, sleepers_[round_ % sleepers_.size()]->pid()); // v1 -> v1 or v2 -> v2
        join(a, sleepers_[round_ % sleepers_.size()]->pid());
        short_lived(round_ % n);
        write_control_file(a.file("cgroup.procs"), "not-a-pid");
        ++bad_writes_;
        ++round_;
    }

    // A freeze blocked by a process in a FUSE read for 3 s, then released; then thawed.
    void stuck_freeze() {
        ScratchCgroup cg(*freezers_.front(),
                         fmt::format("{}/stuck/pod{}/{}", prefix_, random_uuid(), random_hex(64)));
        HeldReader held(cg);
        auto &reader = held.reader();
        auto &fuse = held.fuse();
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
        ++cycles_;
        std::this_thread::sleep_for(3s);
        fuse.answer_reads();
        for (auto until = Clock::now() + 5s; !frozen(cg) && Clock::now() < until;)
            std::this_thread::sleep_for(20ms);
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
        reader.wait_exit(5s);
        ++stuck_;
    }

    std::uint64_t cycles() const { return cycles_; }
    std::uint64_t stuck() const { return stuck_; }
    std::string summary() const {
        return fmt::format("{} freeze cycles ({} stuck), {} migrations, {} cgroups created and "
                           "removed, {} failed writes",
                           cycles_, stuck_, migrations_, short_lived_, bad_writes_);
    }

  private:
    void join(const ScratchCgroup &cg, pid_t pid) {
        write_control_file_or_throw(cg.file("cgroup.procs"), std::to_string(pid));
        ++migrations_;
    }
    // Whether the kernel says the cgroup is frozen, read as runc reads it.
    static bool frozen(const ScratchCgroup &cg) {
        if (cg.version() == 1)
            return trim(read_file(cg.file("freezer.state"))) == "FROZEN";
        return read_file(cg.file("cgroup.events")).find("frozen 1") != std::string::npos;
    }
    // Freeze, wait until the kernel says frozen, thaw.
    void freeze_cycle(const ScratchCgroup &cg) {
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(true));
        ++cycles_;
        for (auto until = Clock::now() + 2s; !frozen(cg) && Clock::now() < until;)
            std::this_thread::sleep_for(1ms);
        write_control_file_or_throw(cg.freeze_file(), cg.freeze_value(false));
    }
    // A cgroup of freezers_[k], named like a kubelet container, joined, frozen, thawed, left and
    // removed.
    void short_lived(std::size_t k) {
        const Hierarchy &h = *freezers_[k];
        auto path = h.version == 1 ? fmt::format("{}/kubepods/besteffort/pod{}/{}", prefix_,
                                                 random_uuid(), random_hex(64))
                                   : fmt::format("{}/kubepods.slice/cri-containerd-{}.scope",
                                                 prefix_, random_hex(64));
        ScratchCgroup cg(h, path);
        auto &home = *pool_[k];
        auto pid = sleepers_[k]->pid();
        join(cg, pid);
        freeze_cycle(cg);
        join(home, pid);
        cg.remove();
        ++short_lived_;
    }

    std::vector<const Hierarchy *> freezers_;
    std::string prefix_;
    std::vector<std::unique_ptr<ScratchCgroup>> pool_;
    std::vector<std::unique_ptr<SleeperProcess>> sleepers_;
    std::uint64_t round_ = 0, cycles_ = 0, stuck_ = 0, migrations_ = 0, short_lived_ = 0,
                  bad_writes_ = 0;
};

Settings parse(int argc, char **argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&] {
            if (i + 1 >= argc)
                throw std::runtime_error(a + " needs a value");
            return std::string(argv[++i]);
        };
        if (a == "--duration")
            s.duration_s = std::stod(value());
        else if (a == "--warmup")
            s.warmup_s = std::stod(value());
        else if (a == "--binary")
            s.binary = value();
        else
            throw std::runtime_error("unknown option " + a +
                                     " (--duration SECONDS, --warmup SECONDS, --binary PATH)");
    }
    if (s.warmup_s < 0)
        s.warmup_s = std::min(180.0, s.duration_s / 3);
    return s;
}

int run(const Settings &s) {
    auto hierarchies = discover_hierarchies();
    // The v1 freezer then cgroup v2, as this layout mounts them (a v2-only host: v2 alone).
    auto freezers = freezable(hierarchies);
    if (freezers.empty())
        throw std::runtime_error("needs the v1 freezer or cgroup v2 mounted");
    for (const Hierarchy *h : freezers)
        fmt::print("soak: churn in {} at {}\n", h->version == 1 ? "the v1 freezer" : "cgroup v2",
                   h->mount_point);
    auto prefix = fmt::format("/freezeprobe-soak-{}", ::getpid());
    auto metrics = fmt::format("/tmp/freezeprobe-soak-{}.prom", ::getpid());
    Counts counts;
    Probe probe(s, {"watch", "--events", "json", "--cgroup", prefix, "--metrics-file", metrics},
                counts);
    if (!probe.attached(10s))
        throw std::runtime_error("the probe did not attach: " + probe.stderr_text());

    Usage at_warmup, last, peak_after;
    bool warmed = false;
    int samples = 0;
    std::uint64_t cycles = 0, stuck = 0;
    std::string did;
    {
        Churn churn(freezers, prefix);
        // The first stuck freeze early enough for a short run to have one, then every minute.
        auto start = Clock::now(), next_sample = start,
             next_stuck = start + std::chrono::milliseconds(
                                      static_cast<int>(1000 * std::min(20.0, s.duration_s / 3)));
        auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
        while (elapsed() < s.duration_s) {
            churn.round();
            if (Clock::now() >= next_stuck) {
                churn.stuck_freeze();
                next_stuck += 60s;
            }
            if (Clock::now() >= next_sample) {
                next_sample += 1s;
                last = usage_of(probe.pid());
                if (!warmed && elapsed() >= s.warmup_s) {
                    at_warmup = last;
                    warmed = true;
                }
                if (warmed)
                    peak_after.rss_kib = std::max(peak_after.rss_kib, last.rss_kib);
                if (++samples % 30 == 0)
                    fmt::print("soak: {:4.0f} s: probe RSS {} KiB, CPU {:.1f} s\n", elapsed(),
                               last.rss_kib, last.cpu_s);
            }
            std::this_thread::sleep_for(100ms);
        }
        cycles = churn.cycles();
        stuck = churn.stuck();
        did = churn.summary();
    }
    std::this_thread::sleep_for(1s); // the last episodes' grace windows
    last = usage_of(probe.pid());
    peak_after.rss_kib = std::max(peak_after.rss_kib, last.rss_kib);
    int exit_code = probe.stop();
    auto metrics_text = read_file(metrics);
    ::unlink(metrics.c_str());

    std::lock_guard lock(counts.mu);
    std::uint64_t closed =
        counts.outcomes["thawed"] + counts.outcomes["aborted"] + counts.outcomes["removed"];
    std::uint64_t events = 0;
    for (auto &[type, n] : counts.types)
        events += n;
    auto growth = static_cast<std::int64_t>(peak_after.rss_kib) -
                  static_cast<std::int64_t>(at_warmup.rss_kib);
    fmt::print("soak: {:.0f} s (warm-up {:.0f} s): {}\n", s.duration_s, s.warmup_s, did);
    fmt::print("soak: {} events ({} freeze_write, {} procs_write, {} freeze_stall, {} "
               "freeze_episode: {} frozen, {} thawed, {} aborted, {} removed, {} open), {} lost\n",
               events, counts.types["freeze_write"], counts.types["procs_write"],
               counts.types["freeze_stall"], counts.types["freeze_episode"],
               counts.outcomes["frozen"], counts.outcomes["thawed"], counts.outcomes["aborted"],
               counts.outcomes["removed"], counts.outcomes["open"], counts.lost);
    fmt::print("soak: probe RSS {} KiB after warm-up, {} KiB at the end, {} KiB at most after "
               "warm-up: growth {} KiB; CPU {:.1f} s ({:.1f}% of one core)\n",
               at_warmup.rss_kib, last.rss_kib, peak_after.rss_kib, growth, last.cpu_s,
               100 * last.cpu_s / s.duration_s);

    std::vector<std::string> failed;
    auto check = [&](bool ok, std::string what) {
        if (!ok)
            failed.push_back(std::move(what));
    };
    check(exit_code == 0,
          fmt::format("the probe exited with {}: {}", exit_code, probe.stderr_text()));
    check(counts.lost == 0, fmt::format("{} events lost", counts.lost));
    check(metrics_text.find("\nfreezeprobe_events_lost_total 0\n") != std::string::npos,
          "the metrics file does not say 0 lost");
    check(counts.bad_lines == 0, fmt::format("{} lines were not JSON events", counts.bad_lines));
    check(counts.outcomes["open"] == 0, fmt::format("{} episodes open", counts.outcomes["open"]));
    check(closed == cycles, fmt::format("{} freeze cycles but {} closed episodes", cycles, closed));
    check(counts.types["freeze_stall"] == stuck,
          fmt::format("{} stuck freezes but {} stalls reported", stuck,
                      counts.types["freeze_stall"]));
    check(growth < 1024, fmt::format("RSS grew by {} KiB after the warm-up", growth));
    for (auto &f : failed)
        fmt::print("soak: FAILED: {}\n", f);
    if (failed.empty())
        fmt::print("soak: passed\n");
    return failed.empty() ? 0 : 1;
}

} // namespace
} // namespace freezeprobe

int main(int argc, char **argv) {
    try {
        return freezeprobe::run(freezeprobe::parse(argc, argv));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "freezeprobe_soak: %s\n", e.what());
        return 2;
    }
}
