#include "cause_resolver.h"

#include "blocker_cause.h"
#include "container_resolver.h"
#include "read_file.h"
#include "text_util.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <filesystem>
#include <map>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> link_target(const std::string &path) {
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    if (ec)
        return std::nullopt;
    return target.string();
}

std::string proc(std::uint32_t tid, const std::string &file) {
    return fmt::format("/proc/{}/{}", tid, file);
}

std::optional<Container> container_of(std::uint32_t pid) {
    // "0::/path" (v2) or "N:controllers:/path" (v1): the first path that names a container.
    // The text outlives the loop: split() returns views into it.
    auto text = read_file(proc(pid, "cgroup"));
    for (auto line : split(text, '\n')) {
        auto colon = line.find(':');
        auto second = colon == std::string_view::npos ? colon : line.find(':', colon + 1);
        if (second == std::string_view::npos)
            continue;
        if (auto c = resolve_container(line.substr(second + 1)))
            return c;
    }
    return std::nullopt;
}

std::string device_text(std::uint32_t major, std::uint32_t minor) {
    return fmt::format("{}:{}", major, minor);
}

// What is known about the wait of one blocker.
struct Resolution {
    CauseFacts facts;
    std::vector<MountEntry> mounts; // the task's, which facts.mount points into
};

// The mount a descriptor's file is on, and the file's path.
const MountEntry *fd_mount(std::uint32_t tid, int fd, const std::vector<MountEntry> &mounts) {
    auto id = fdinfo_mnt_id(read_file(proc(tid, fmt::format("fdinfo/{}", fd))));
    return id ? mount_by_id(mounts, *id) : nullptr;
}

// Without a descriptor from the syscall (a path lookup, a page fault): the one FUSE or network
// mount among the task's open files, if there is exactly one.
const MountEntry *only_mount_of_kind(std::uint32_t tid, const std::vector<MountEntry> &mounts,
                                     CauseKind kind) {
    std::set<const MountEntry *> found;
    std::error_code ec;
    for (fs::directory_iterator f(proc(tid, "fd"), ec), end; !ec && f != end; f.increment(ec)) {
        int fd = std::atoi(f->path().filename().c_str());
        auto *m = fd_mount(tid, fd, mounts);
        if (m &&
            (kind == CauseKind::fuse ? fuse_connection(*m).has_value() : is_network_fs(m->fs_type)))
            found.insert(m);
    }
    if (auto cwd = link_target(proc(tid, "cwd"))) {
        auto *m = mount_of_path(mounts, *cwd);
        if (m &&
            (kind == CauseKind::fuse ? fuse_connection(*m).has_value() : is_network_fs(m->fs_type)))
            found.insert(m);
    }
    return found.size() == 1 ? *found.begin() : nullptr;
}

bool safe_to_stat(const MountEntry &m) {
    return m.fs_type == "devtmpfs" || m.fs_type == "tmpfs";
}

void find_device(std::uint32_t tid, Resolution &r) {
    auto &f = r.facts;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> dev;
    if (f.file && f.mount && safe_to_stat(*f.mount) && f.file->starts_with("/")) {
        struct stat st {};
        // Through the task's root: the path is as the task sees it.
        if (::stat((proc(tid, "root") + *f.file).c_str(), &st) == 0 && S_ISBLK(st.st_mode))
            dev = {major(st.st_rdev), minor(st.st_rdev)};
    }
    if (!dev && f.mount && !safe_to_stat(*f.mount))
        dev = {f.mount->major, f.mount->minor};
    if (!dev)
        return;
    f.device = device_text(dev->first, dev->second);
    auto sys = "/sys/dev/block/" + *f.device;
    if (auto name = link_target(sys))
        f.device_name = fs::path(*name).filename().string();
    if (auto backing = std::string(trim(read_file(sys + "/loop/backing_file"))); !backing.empty()) {
        f.backing_file = backing;
        // The loop driver prints the path as this process sees it.
        auto host = parse_mountinfo(read_file("/proc/self/mountinfo"));
        if (auto *m = mount_of_path(host, backing))
            f.backing_fuse_connection = fuse_connection(*m);
    }
}

void find_holder(const std::vector<FuseFd> &fds, std::uint32_t connection, CauseFacts &f) {
    auto pids = fuse_holders(fds, connection);
    if (pids.empty())
        return;
    CauseHolder h;
    h.pid = pids.front();
    h.comm = std::string(trim(read_file(proc(h.pid, "comm"))));
    h.container = container_of(h.pid);
    f.holder = std::move(h);
    f.other_holders = pids.size() - 1;
}

} // namespace

BlockerCause classify_blocker(const Blocker &b) {
    return describe_cause(classify_wait(b.stack, b.wchan), b.state, CauseFacts{});
}

void CauseResolver::resolve(std::vector<Blocker> &blockers) const {
    std::optional<std::vector<FuseFd>> fds; // read once, if any blocker needs it
    for (auto &b : blockers) {
        auto site = classify_wait(b.stack, b.wchan);
        Resolution r;
        auto &f = r.facts;
        r.mounts = parse_mountinfo(read_file(proc(b.tid, "mountinfo")));
        if (auto fd = syscall_fd(read_file(proc(b.tid, "syscall")))) {
            f.file = link_target(proc(b.tid, fmt::format("fd/{}", *fd)));
            f.mount = fd_mount(b.tid, *fd, r.mounts);
        }
        if ((site.kind == CauseKind::fuse || site.kind == CauseKind::nfs) &&
            (!f.mount || (site.kind == CauseKind::fuse && !fuse_connection(*f.mount))))
            f.mount = only_mount_of_kind(b.tid, r.mounts, site.kind);
        if (site.kind == CauseKind::fuse && f.mount) {
            f.fuse_connection = fuse_connection(*f.mount);
            f.device = device_text(f.mount->major, f.mount->minor);
        }
        if (site.kind == CauseKind::block_io || site.kind == CauseKind::nfs)
            find_device(b.tid, r);
        if (site.kind == CauseKind::nfs && f.mount && f.mount->fs_type.starts_with("nfs")) {
            // sysfs, not the mount: the knob's directory is named for the superblock's device.
            auto knob = fmt::format("/sys/fs/nfs/{}:{}/shutdown", f.mount->major, f.mount->minor);
            std::error_code ec;
            if (fs::exists(knob, ec))
                f.nfs_shutdown = knob;
        }
        auto connection = f.fuse_connection ? f.fuse_connection : f.backing_fuse_connection;
        if (connection) {
            // The control file system lists every connection; empty or absent: not mounted.
            std::error_code ec;
            f.fuse_control_mounted = !fs::is_empty("/sys/fs/fuse/connections", ec) && !ec;
            if (!fds)
                fds = daemons_.snapshot();
            find_holder(*fds, *connection, f);
        }
        b.cause = describe_cause(site, b.state, f);
    }
}

} // namespace freezeprobe
