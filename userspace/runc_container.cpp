#include "runc_container.h"

#include "cgroup_hierarchies.h"
#include "scratch.h"
#include "text_util.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <set>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The exit code of a child that could not set up runc's private mount namespace.
constexpr int namespace_failed = 125;

// In a forked child: writes "freezeprobe: cannot <what>: errno <err>" to stderr and exits with
// namespace_failed. Async-signal-safe.
[[noreturn]] void child_fail(const char *what, int err) {
    char buf[256];
    std::size_t n = 0;
    for (const char *part : {"freezeprobe: cannot ", what, ": errno "})
        for (; *part && n < sizeof buf - 16; ++part)
            buf[n++] = *part;
    char digits[12];
    std::size_t d = 0;
    for (unsigned v = static_cast<unsigned>(err); d == 0 || v > 0; v /= 10)
        digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0)
        buf[n++] = digits[--d];
    buf[n++] = '\n';
    (void)!::write(2, buf, n);
    ::_exit(namespace_failed);
}

// Runs argv (argv[0] an absolute path) by fork/exec, no shell. With capture, stdout and stderr are
// pipes read with poll; otherwise stdin, stdout and stderr are /dev/null (a detached container
// inherits runc's stdio, and would hold a pipe open forever). On timeout only this child is
// killed, by its PID. The output of a grandchild that keeps a pipe open is not waited for.
// With bind_v2 (the host's cgroup2 mount point), the child first enters a private mount namespace
// in which that mount is bound onto /sys/fs/cgroup: runc then runs in cgroup v2 mode. A bind, not
// a new cgroup2 mount: mounting cgroup2 would apply its (absent) mount options, such as
// nsdelegate, to the host's hierarchy.
RuncResult run_process(const std::vector<std::string> &argv, std::chrono::milliseconds timeout,
                       bool capture, const std::string &bind_v2 = "") {
    RuncResult r{-1, "", ""};
    std::vector<char *> cargv;
    for (auto &a : argv)
        cargv.push_back(const_cast<char *>(a.c_str()));
    cargv.push_back(nullptr);
    const char *bind = bind_v2.empty() ? nullptr : bind_v2.c_str();
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    bool ok = devnull >= 0 &&
              (!capture || (::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0));
    pid_t pid = ok ? ::fork() : -1;
    if (pid == 0) { // only async-signal-safe calls from here on
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::dup2(devnull, 0);
        ::dup2(capture ? out[1] : devnull, 1);
        ::dup2(capture ? err[1] : devnull, 2);
        if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) // e.g. a FUSE fd must not leak
            for (int fd = 3; fd < 1024; ++fd)
                ::close(fd);
        if (bind) {
            if (::unshare(CLONE_NEWNS) != 0)
                child_fail("unshare(CLONE_NEWNS)", errno);
            // Nothing mounted here may propagate back to the host's namespace.
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
                child_fail("make / rprivate in the new mount namespace", errno);
            if (::mount(bind, "/sys/fs/cgroup", nullptr, MS_BIND, nullptr) != 0)
                child_fail("bind the cgroup2 mount onto /sys/fs/cgroup", errno);
        }
        ::execv(cargv[0], cargv.data());
        static const char msg[] = "freezeprobe: execv of runc failed\n";
        (void)!::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    if (pid < 0)
        r.err = fmt::format("cannot start {}: {}", argv[0], std::strerror(errno));
    for (int fd : {devnull, out[1], err[1]})
        if (fd >= 0)
            ::close(fd);
    // The pidfd wakes poll when the child exits; without one (old kernel) poll every 10 ms.
    int pidfd = pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)) : -1;
    std::vector<pollfd> fds = {{pidfd, POLLIN, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string *bufs[] = {nullptr, &r.out, &r.err};
    auto deadline = Clock::now() + timeout;
    bool exited = pid < 0;
    int status = -1;
    for (;;) {
        if (!exited && (exited = ::waitpid(pid, &status, WNOHANG) == pid) && pidfd >= 0)
            fds[0].fd = -1;
        if (exited && fds[1].fd < 0 && fds[2].fd < 0)
            break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms && !exited) {
            ::kill(pid, SIGKILL);
            r.err += fmt::format("{}runc timed out after {} ms; killed pid {}",
                                 r.err.empty() ? "" : "\n", timeout.count(), pid);
            for (auto until = Clock::now() + 2s; Clock::now() < until;) {
                if (::waitpid(pid, &status, WNOHANG) == pid)
                    break;
                std::this_thread::sleep_for(10ms);
            }
            status = -1;
            break;
        }
        if (left <= 0ms)
            break;
        auto wait = exited ? 0ms : pidfd >= 0 ? std::min(left, 1000ms) : std::min(left, 10ms);
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
        if (n < 0 && errno != EINTR)
            break;
        if (n == 0 && exited)
            break; // pipes drained; a grandchild may still hold them
        for (std::size_t i = 1; n > 0 && i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                bufs[i]->append(buf, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (int fd : {pidfd, fds[1].fd, fds[2].fd})
        if (fd >= 0)
            ::close(fd);
    if (status != -1 && WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    return r;
}

void report(const std::string &id, const std::string &what) {
    fmt::print(stderr, "freezeprobe: runc container {}: {}\n", id.substr(0, 12), what);
}

std::string first_line(std::string_view s) {
    return std::string(trim(s.substr(0, s.find('\n'))));
}

// A dynamically linked busybox cannot run in a rootfs that holds nothing else.
void require_static_binary(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    Elf64_Ehdr eh{};
    if (!f.read(reinterpret_cast<char *>(&eh), sizeof eh))
        throw std::runtime_error(path + " is missing (install busybox-static)");
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return; // let runc report whatever happens
    for (int i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        f.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
        if (f.read(reinterpret_cast<char *>(&ph), sizeof ph) && ph.p_type == PT_INTERP)
            throw std::runtime_error(path + " is dynamically linked (install busybox-static)");
    }
}

// Mount points of every cgroup hierarchy: the mounted ones and the directories of /sys/fs/cgroup.
std::vector<std::string> cgroup_roots(std::vector<Hierarchy> &hierarchies) {
    std::set<std::string> roots;
    try {
        hierarchies = discover_hierarchies();
    } catch (...) {
    }
    for (auto &h : hierarchies)
        roots.insert(h.mount_point);
    std::error_code ec;
    for (auto &e : fs::directory_iterator("/sys/fs/cgroup", ec))
        if (e.is_directory(ec) && !e.is_symlink(ec))
            roots.insert(e.path().string());
    return {roots.begin(), roots.end()};
}

std::set<std::string> words(std::string_view text) {
    std::set<std::string> out;
    for (auto w : split(text, ' '))
        if (auto t = trim(w); !t.empty())
            out.insert(std::string(t));
    return out;
}

// Controllers that runc (cgroup2 mode) enabled in the cgroup2 root's cgroup.subtree_control, to
// be disabled again by cleanup. Shared by this process's containers: one started while another
// one's are alive finds them enabled already, and the last cleanup is the one that can disable.
std::mutex root_controllers_mu;
std::set<std::string> root_controllers_enabled_by_runc;

// Disables them at the root. EBUSY: a cgroup below still enables them for its children (another
// container of ours, or cgroups that cleanup could not remove): the next cleanup tries again.
void restore_root_controllers(const std::string &v2_root, const std::string &id) {
    std::lock_guard lock(root_controllers_mu);
    auto &enabled = root_controllers_enabled_by_runc;
    for (auto it = enabled.begin(); it != enabled.end();) {
        int err = write_control_file(v2_root + "/cgroup.subtree_control", "-" + *it);
        if (err != 0 && err != EBUSY)
            report(id, fmt::format("disabling {} in {}/cgroup.subtree_control: {}", *it, v2_root,
                                   std::strerror(err)));
        it = err == EBUSY ? std::next(it) : enabled.erase(it);
    }
}

} // namespace

std::optional<std::string> find_program(const std::string &name) {
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto dir : split(dirs, ':')) {
        std::string path = std::string(dir) + "/" + name;
        std::error_code ec;
        if (dir.starts_with("/") && fs::is_regular_file(path, ec) &&
            ::access(path.c_str(), X_OK) == 0)
            return path;
    }
    return std::nullopt;
}

std::optional<std::string> find_runc() {
    return find_program("runc");
}

std::string program_version(const std::string &name) {
    auto path = find_program(name);
    if (!path)
        return "";
    auto r = run_process({*path, "--version"}, 10s, true);
    return r.exit_code == 0 ? first_line(r.out) : "";
}

std::string runc_version() {
    return program_version("runc");
}

RuncContainer::RuncContainer(RuncContainerSpec spec) : spec_(std::move(spec)) {
    auto runc = find_runc();
    if (!runc)
        throw std::runtime_error("runc is not installed");
    if (spec_.id.empty() || spec_.id.find('/') != std::string::npos)
        throw std::invalid_argument("bad container id \"" + spec_.id + "\"");
    runc_ = *runc;
    if (spec_.cgroup2) {
        std::vector<Hierarchy> hierarchies;
        try {
            hierarchies = discover_hierarchies();
        } catch (const std::exception &e) {
            throw std::runtime_error(std::string("cgroup2: ") + e.what());
        }
        const Hierarchy *v2 = find_v2(hierarchies);
        if (!v2)
            throw std::runtime_error("cgroup2 requested but no cgroup2 hierarchy is mounted");
        v2_root_ = v2->mount_point;
        if (v2_root_ != "/sys/fs/cgroup")
            bind_source_ = v2_root_;
    }
    std::string dir = (fs::temp_directory_path() / "freezeprobe-runc-XXXXXX").string();
    if (!::mkdtemp(dir.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + dir);
    work_dir_ = dir;
    bundle_ = spec_.bundle_dir.empty() ? work_dir_ + "/bundle" : spec_.bundle_dir;
    root_ = work_dir_ + "/state";
    try {
        std::string rootfs = bundle_ + "/rootfs";
        fs::create_directories(rootfs + "/bin");
        fs::create_directory(root_);
        fs::permissions(root_, fs::perms::owner_all);
        require_static_binary("/bin/busybox");
        fs::copy_file("/bin/busybox", rootfs + "/bin/busybox");
        fs::permissions(rootfs + "/bin/busybox", fs::perms(0755));
        for (auto name : {"sh", "sleep", "cat", "true"})
            fs::create_symlink("busybox", rootfs + "/bin/" + name);

        // In runc's cgroup2 namespace, as on a v2 host: the spec then has a cgroup namespace.
        auto gen = run_process({runc_, "spec", "--bundle", bundle_}, 30s, true, bind_source_);
        if (gen.exit_code != 0)
            throw std::runtime_error("runc spec failed: " + std::string(trim(gen.err)));
        nlohmann::json config;
        std::ifstream(bundle_ + "/config.json") >> config;
        config["process"]["terminal"] = false;
        config["process"]["args"] = spec_.args;
        config["root"] = {{"path", "rootfs"}, {"readonly", false}};
        config["linux"]["cgroupsPath"] = spec_.cgroups_path;
        for (auto &[key, value] : spec_.annotations)
            config["annotations"][key] = value;
        for (auto &m : spec_.mounts)
            config["mounts"].push_back({{"destination", m.destination},
                                        {"type", "bind"},
                                        {"source", m.source},
                                        {"options", {"rbind", m.read_only ? "ro" : "rw"}}});
        std::ofstream(bundle_ + "/config.json") << config.dump(2);

        // Detached: runc's stdio (and so the container's) is /dev/null; errors go to --log.
        std::string log = work_dir_ + "/run.log";
        std::string subtree = v2_root_ + "/cgroup.subtree_control";
        auto before =
            v2_root_.empty() ? std::set<std::string>{} : words(read_control_file(subtree));
        auto r = run_process(
            {runc_, "--root", root_, "--log", log, "run", "-d", "--bundle", bundle_, spec_.id}, 30s,
            false, bind_source_);
        if (!v2_root_.empty()) {
            std::lock_guard lock(root_controllers_mu);
            for (auto &c : words(read_control_file(subtree)))
                if (!before.contains(c))
                    root_controllers_enabled_by_runc.insert(c);
        }
        if (r.exit_code != 0) {
            std::ifstream in(log);
            std::string text((std::istreambuf_iterator<char>(in)), {});
            if (r.exit_code == namespace_failed) // stderr was /dev/null: try again to see why
                text = run_process({runc_, "--version"}, 10s, true, bind_source_).err;
            throw std::runtime_error(fmt::format("runc run -d {} failed (exit {}): {}{}", spec_.id,
                                                 r.exit_code, trim(text), trim(r.err)));
        }
    } catch (...) {
        cleanup();
        throw;
    }
}

RuncContainer::~RuncContainer() {
    cleanup();
}

RuncResult RuncContainer::run(std::vector<std::string> runc_args, std::chrono::seconds timeout) {
    std::vector<std::string> argv{runc_, "--root", root_};
    argv.insert(argv.end(), runc_args.begin(), runc_args.end());
    return run_process(argv, timeout, true, bind_source_);
}

RuncResult RuncContainer::pause() {
    return run({"pause", spec_.id});
}

RuncResult RuncContainer::resume() {
    return run({"resume", spec_.id});
}

RuncResult RuncContainer::exec(std::vector<std::string> args, bool ignore_paused,
                               std::chrono::seconds timeout) {
    std::vector<std::string> argv{"exec"};
    if (ignore_paused)
        argv.push_back("--ignore-paused");
    argv.push_back(spec_.id);
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, timeout);
}

pid_t RuncContainer::init_pid() {
    auto r = run({"state", spec_.id}, 10s);
    if (r.exit_code != 0)
        throw std::runtime_error("runc state " + spec_.id + ": " + std::string(trim(r.err)));
    try {
        return nlohmann::json::parse(r.out).at("pid").get<pid_t>();
    } catch (const nlohmann::json::exception &e) {
        throw std::runtime_error("runc state " + spec_.id + ": " + e.what());
    }
}

void RuncContainer::cleanup() noexcept {
    try {
        std::vector<Hierarchy> hierarchies;
        auto roots = cgroup_roots(hierarchies);
        // With cgroup2, runc made no v1 cgroups and its freezer is cgroup.freeze.
        const Hierarchy *freezer =
            spec_.cgroup2 ? nullptr : find_v1_controller(hierarchies, "freezer");
        const Hierarchy *v2 = find_v2(hierarchies);
        // The chain of cgroups we may touch: from the "freezeprobe-" top down to the leaf, or just
        // the leaf for any other cgroupsPath.
        auto parts = split(spec_.cgroups_path, '/');
        bool ours =
            spec_.cgroups_path.starts_with("/") && !parts.empty() &&
            parts[0].starts_with("freezeprobe-") &&
            std::none_of(parts.begin(), parts.end(), [](auto p) { return p == "." || p == ".."; });
        std::vector<std::string> chain; // outermost first
        for (std::size_t i = 0; ours && i < parts.size(); ++i)
            chain.push_back((chain.empty() ? "" : chain.back()) + "/" + std::string(parts[i]));
        if (chain.empty() && !parts.empty())
            chain.push_back(spec_.cgroups_path);

        // 1. Thaw. v1: runc resume first if the container is FROZEN (not FREEZING: runc would
        // spin). cgroup2: never through runc, which waits 10 s for a freezing cgroup to freeze.
        std::string leaf = freezer ? freezer->mount_point + spec_.cgroups_path : "";
        if (freezer && trim(read_control_file(leaf + "/freezer.state")) == "FROZEN") {
            auto r = resume();
            if (r.exit_code != 0)
                report(spec_.id, "runc resume failed: " + std::string(trim(r.err)));
        }
        for (auto &cg : chain) { // then thaw directly whatever is still frozen, top down
            std::string v1_file = freezer ? freezer->mount_point + cg + "/freezer.state" : "";
            auto v1_state = freezer ? read_control_file(v1_file) : "";
            if (!trim(v1_state).empty() && trim(v1_state) != "THAWED")
                write_control_file(v1_file, "THAWED");
            std::string v2_file = v2 ? v2->mount_point + cg + "/cgroup.freeze" : "";
            if (v2 && trim(read_control_file(v2_file)) == "1")
                write_control_file(v2_file, "0");
        }

        // 2. runc delete --force, bounded; if it fails, SIGKILL what is left in the leaf cgroup.
        auto d = run({"delete", "--force", spec_.id}, 10s);
        bool stuck = false;
        if (d.exit_code != 0 && d.err.find("does not exist") == std::string::npos) {
            report(spec_.id, "runc delete --force failed: " + std::string(trim(d.err)));
            const Hierarchy *h = freezer ? freezer : v2;
            std::string procs = h ? h->mount_point + spec_.cgroups_path + "/cgroup.procs" : "";
            auto until = Clock::now() + 2s;
            for (bool any = true; h && any && Clock::now() < until;) {
                std::istringstream pids(read_control_file(procs));
                any = false;
                for (pid_t pid; pids >> pid; any = true)
                    ::kill(pid, SIGKILL);
                if (any)
                    std::this_thread::sleep_for(20ms);
            }
            if ((stuck = h && !trim(read_control_file(procs)).empty()))
                report(spec_.id, "processes survive in " + procs);
        }

        // 3. Remove the cgroup directories runc left (it removes only its leaf), deepest first,
        // then disable at the cgroup2 root the controllers that runc enabled there.
        auto until = Clock::now() + (stuck ? 0s : 2s);
        for (std::size_t i = ours ? chain.size() : 0; i-- > 0;)
            for (auto &root : roots) {
                std::string dir = root + chain[i];
                while (::rmdir(dir.c_str()) != 0 && errno == EBUSY && i + 1 == chain.size() &&
                       Clock::now() < until)
                    std::this_thread::sleep_for(10ms); // the leaf's tasks may still be exiting
            }
        if (!v2_root_.empty())
            restore_root_controllers(v2_root_, spec_.id);
        std::string left;
        for (auto &root : roots)
            if (ours && fs::exists(root + chain.back()))
                left += " " + root;
        if (!left.empty())
            report(spec_.id, "cgroup " + spec_.cgroups_path + " is left in" + left);
    } catch (const std::exception &e) {
        report(spec_.id, std::string("cleanup: ") + e.what());
    } catch (...) {
    }
    std::error_code ec;
    if (!work_dir_.empty())
        fs::remove_all(work_dir_, ec);
    if (ec)
        report(spec_.id, "removing " + work_dir_ + ": " + ec.message());
    if (!spec_.bundle_dir.empty() && !bundle_.empty()) {
        fs::remove_all(spec_.bundle_dir, ec);
        if (ec)
            report(spec_.id, "removing " + spec_.bundle_dir + ": " + ec.message());
    }
}

} // namespace freezeprobe
