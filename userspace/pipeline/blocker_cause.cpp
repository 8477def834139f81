#include "blocker_cause.h"

#include "text_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <sys/syscall.h>

namespace freezeprobe {
namespace {

std::string_view function_of(std::string_view frame) {
    return frame.substr(0, frame.find('+'));
}

bool has_prefix(std::string_view s, std::initializer_list<std::string_view> prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](std::string_view p) { return s.starts_with(p); });
}

bool is_fuse_frame(std::string_view f) {
    return f == "request_wait_answer" || has_prefix(f, {"fuse_", "__fuse_", "virtio_fs_"});
}

bool is_nfs_frame(std::string_view f) {
    return has_prefix(f, {"nfs", "__nfs", "rpc_wait", "__rpc_", "rpc_", "xprt_", "cifs_", "smb2_",
                          "wait_for_response", "p9_"});
}

bool is_block_io_frame(std::string_view f) {
    return has_prefix(f, {"io_schedule", "blk_io_schedule", "submit_bio_wait", "__blkdev_direct_IO",
                          "blk_mq_get_tag", "folio_wait_bit", "folio_wait_writeback",
                          "__folio_lock", "folio_wait_locked", "wait_on_page_bit", "__lock_page",
                          "bit_wait_io", "__wait_on_buffer", "blkdev_issue_flush",
                          "jbd2_log_wait_commit", "wait_for_completion_io",
                          "blk_mq_freeze_queue_wait", "__bio_queue_enter", "blk_queue_enter"});
}

bool is_lock_frame(std::string_view f) {
    return has_prefix(f, {"__mutex_lock", "mutex_lock", "rwsem_down_", "down_read", "down_write",
                          "__down", "percpu_rwsem_wait", "percpu_down_write", "rt_mutex"});
}

template <typename T> std::optional<T> number(std::string_view s, int base = 10) {
    T v{};
    if (base == 16 && s.starts_with("0x"))
        s.remove_prefix(2);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string mount_text(const MountEntry &m) {
    return fmt::format("{} ({})", m.mount_point, m.fs_type);
}

std::string holder_text(const CauseFacts &f) {
    if (!f.holder)
        return "";
    auto text = fmt::format(" served by pid {} ({})", f.holder->pid, f.holder->comm);
    if (f.holder->container)
        text += fmt::format(" in container {}", f.holder->container->id.substr(0, 12));
    if (f.other_holders)
        text += fmt::format(" (and {} other holder{} of its /dev/fuse)", f.other_holders,
                            f.other_holders == 1 ? "" : "s");
    return text;
}

} // namespace

WaitSite classify_wait(const std::vector<std::string> &stack, std::string_view wchan) {
    std::vector<std::string_view> frames;
    for (auto &f : stack)
        frames.push_back(function_of(f));
    if (frames.empty() && !wchan.empty() && wchan != "0")
        frames.push_back(wchan);
    for (auto f : frames)
        if (is_fuse_frame(f))
            return {CauseKind::fuse, std::string(f)};
    for (auto f : frames)
        if (is_nfs_frame(f))
            return {CauseKind::nfs, std::string(f)};
    for (auto f : frames) {
        if (is_block_io_frame(f))
            return {CauseKind::block_io, std::string(f)};
        if (is_lock_frame(f))
            return {CauseKind::lock, std::string(f)};
    }
    return {CauseKind::unknown, frames.empty() ? "" : std::string(frames.front())};
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (auto line : split(text, '\n')) {
        auto fields = split(line, ' ');
        // id parent major:minor root mount_point options [optional...] - fs_type source super
        auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
        if (fields.size() < 7 || dash == fields.end() || fields.end() - dash < 3 ||
            dash - fields.begin() < 6)
            continue;
        MountEntry m;
        auto id = number<std::uint32_t>(fields[0]);
        auto colon = fields[2].find(':');
        if (!id || colon == std::string_view::npos)
            continue;
        auto major = number<std::uint32_t>(fields[2].substr(0, colon));
        auto minor = number<std::uint32_t>(fields[2].substr(colon + 1));
        if (!major || !minor)
            continue;
        m.id = *id;
        m.major = *major;
        m.minor = *minor;
        m.mount_point = unescape_octal(fields[4]);
        m.fs_type = std::string(dash[1]);
        m.source = unescape_octal(dash[2]);
        out.push_back(std::move(m));
    }
    return out;
}

const MountEntry *mount_of_path(const std::vector<MountEntry> &mounts, std::string_view path) {
    const MountEntry *best = nullptr;
    for (auto &m : mounts)
        if (starts_with_path(path, m.mount_point) &&
            (!best || m.mount_point.size() >= best->mount_point.size()))
            best = &m;
    return best;
}

const MountEntry *mount_by_id(const std::vector<MountEntry> &mounts, std::uint32_t id) {
    for (auto &m : mounts)
        if (m.id == id)
            return &m;
    return nullptr;
}

std::optional<std::uint32_t> fuse_connection(const MountEntry &m) {
    if (m.fs_type != "fuse" && m.fs_type != "fuseblk" && !m.fs_type.starts_with("fuse."))
        return std::nullopt;
    return (m.major << 20) | m.minor;
}

bool is_network_fs(std::string_view t) {
    return t == "nfs" || t == "nfs4" || t == "cifs" || t == "smb3" || t == "9p" || t == "ceph";
}

std::optional<int> syscall_fd(std::string_view text) {
    auto fields = split(trim(text), ' ');
    if (fields.size() < 2)
        return std::nullopt;
    auto nr = number<long>(fields[0]);
    if (!nr)
        return std::nullopt;
    static const long with_fd[] = {
        SYS_read,      SYS_write,           SYS_pread64,   SYS_pwrite64,  SYS_readv,
        SYS_writev,    SYS_preadv,          SYS_pwritev,   SYS_preadv2,   SYS_pwritev2,
        SYS_fsync,     SYS_fdatasync,       SYS_ftruncate, SYS_fallocate, SYS_getdents64,
        SYS_ioctl,     SYS_sync_file_range, SYS_syncfs,    SYS_fstatfs,   SYS_flock,
        SYS_readahead, SYS_copy_file_range, SYS_fadvise64, SYS_fgetxattr, SYS_fsetxattr,
#ifdef SYS_fstat
        SYS_fstat,
#endif
    };
    if (std::find(std::begin(with_fd), std::end(with_fd), *nr) == std::end(with_fd))
        return std::nullopt;
    auto fd = number<unsigned long long>(fields[1], 16);
    if (!fd || *fd > 0x7fffffff)
        return std::nullopt;
    return static_cast<int>(*fd);
}

std::optional<std::uint32_t> fdinfo_mnt_id(std::string_view fdinfo) {
    for (auto line : split(fdinfo, '\n'))
        if (line.starts_with("mnt_id:"))
            return number<std::uint32_t>(trim(line.substr(7)));
    return std::nullopt;
}

std::string fuse_abort_hint(std::uint32_t connection, bool control_mounted) {
    return fmt::format("{}echo 1 > /sys/fs/fuse/connections/{}/abort",
                       control_mounted ? "" : "mount -t fusectl fusectl /sys/fs/fuse/connections; ",
                       connection);
}

std::string nfs_shutdown_hint(const std::string &shutdown_file) {
    return "echo 1 > " + shutdown_file;
}

BlockerCause describe_cause(const WaitSite &site, std::string_view state, const CauseFacts &f) {
    BlockerCause c;
    c.kind = site.kind;
    c.device = f.device;
    auto on_mount = f.mount ? " on " + mount_text(*f.mount) : std::string();
    switch (site.kind) {
    case CauseKind::fuse:
        c.detail = "waiting for a FUSE daemon to answer";
        if (f.fuse_connection)
            c.detail += fmt::format(" (connection {}{})", *f.fuse_connection, on_mount);
        c.detail += holder_text(f);
        if (f.fuse_connection) {
            c.hint = fuse_abort_hint(*f.fuse_connection, f.fuse_control_mounted);
            if (!f.device)
                c.device = fmt::format("0:{}", *f.fuse_connection & 0xfffff);
        }
        c.holder = f.holder;
        break;
    case CauseKind::block_io:
        c.detail = "waiting for block I/O";
        if (f.device_name)
            c.detail += " on " + *f.device_name;
        else if (f.device)
            c.detail += " on device " + *f.device;
        if (f.backing_file)
            c.detail += ", a loop device backed by " + *f.backing_file;
        if (f.backing_fuse_connection) {
            c.detail += fmt::format(" on FUSE connection {}", *f.backing_fuse_connection);
            c.detail += holder_text(f);
            c.holder = f.holder;
            c.hint = fuse_abort_hint(*f.backing_fuse_connection, f.fuse_control_mounted);
        } else if (!f.device_name && f.mount) {
            c.detail += on_mount;
        }
        break;
    case CauseKind::nfs:
        c.detail = "waiting for a network file system server";
        if (f.mount) {
            if (!f.mount->source.empty())
                c.detail += fmt::format(" ({})", f.mount->source);
            c.detail += on_mount;
            if (f.nfs_shutdown)
                c.hint = nfs_shutdown_hint(*f.nfs_shutdown);
        } else {
            c.detail += fmt::format(" (at {})", site.frame);
        }
        break;
    case CauseKind::lock:
        c.detail = fmt::format("waiting for a kernel lock ({})", site.frame);
        break;
    case CauseKind::unknown:
        if (state == "R")
            c.detail = "running: busy in the kernel or on a CPU";
        else if (state == "D")
            c.detail = "in an uninterruptible sleep the freezer cannot break";
        else
            c.detail = fmt::format("in state {}", state);
        if (!site.frame.empty())
            c.detail += fmt::format(" (at {})", site.frame);
        break;
    }
    return c;
}

} // namespace freezeprobe
