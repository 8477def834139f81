// Why a blocker cannot freeze, told from what was read about it: its kernel stack and wchan, the
// syscall it is in, the mounts and devices of the file it waits on. Pure functions, so that every
// signature is unit-tested; cause_resolver.h does the reading (only for reported blockers).
#pragma once

#include "event_model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {

// The wait that decided the kind, and the frame (function name) that told it.
struct WaitSite {
    CauseKind kind = CauseKind::unknown;
    std::string frame;
};

// FUSE and NFS frames anywhere in the stack name the file system waited on (a FUSE page read
// waits on the page lock before it reaches request_wait_answer); otherwise the innermost block
// I/O or lock frame decides. The wchan stands in for an unreadable stack.
WaitSite classify_wait(const std::vector<std::string> &stack, std::string_view wchan);

// One line of /proc/PID/mountinfo.
struct MountEntry {
    std::uint32_t id = 0;
    std::uint32_t major = 0;
    std::uint32_t minor = 0;
    std::string mount_point; // unescaped
    std::string fs_type;     // "fuse.sshfs", "ext4", "nfs4"...
    std::string source;
};
std::vector<MountEntry> parse_mountinfo(std::string_view text);
// The mount a path lies on: the longest mount point that is a prefix of it (the last one mounted
// wins a tie); nullptr if none.
const MountEntry *mount_of_path(const std::vector<MountEntry> &mounts, std::string_view path);
const MountEntry *mount_by_id(const std::vector<MountEntry> &mounts, std::uint32_t id);
// The connection number under /sys/fs/fuse/connections of a FUSE mount (fuse.*, fuseblk): the
// kernel dev_t of its super block, which for an anonymous device is its minor.
std::optional<std::uint32_t> fuse_connection(const MountEntry &mount);
bool is_network_fs(std::string_view fs_type); // nfs, nfs4, cifs, smb3, 9p, ceph

// The file descriptor a blocked task's syscall works on, from /proc/PID/syscall ("0 0x3 ..."):
// for read, write, pread, fsync and the like; nullopt for other syscalls, "running" or "-1".
std::optional<int> syscall_fd(std::string_view proc_syscall);
// "mnt_id:" of /proc/PID/fdinfo/N.
std::optional<std::uint32_t> fdinfo_mnt_id(std::string_view fdinfo);

// What the resolver found out about the wait; everything optional.
struct CauseFacts {
    std::optional<std::string> file;              // the file waited on (readlink of the fd)
    const MountEntry *mount = nullptr;            // the file system it is on
    std::optional<std::string> device;            // "7:0": a block device waited on, or the mount's
    std::optional<std::string> device_name;       // "loop0"
    std::optional<std::string> backing_file;      // a loop device's
    std::optional<std::uint32_t> fuse_connection; // the connection waited on
    std::optional<std::uint32_t> backing_fuse_connection; // the FUSE file system under a loop
    std::optional<CauseHolder> holder;                    // the FUSE daemon of that connection
    std::size_t other_holders = 0;    // further processes holding the same connection
    bool fuse_control_mounted = true; // /sys/fs/fuse/connections is mounted (fusectl)
    // An NFS mount's /sys/fs/nfs/MAJ:MIN/shutdown (Linux 6.7+), when freezeprobe sees it.
    std::optional<std::string> nfs_shutdown;
};

// The cause of a blocker in state `state` waiting at `site`, from the facts found.
BlockerCause describe_cause(const WaitSite &site, std::string_view state, const CauseFacts &facts);
// "echo 1 > /sys/fs/fuse/connections/N/abort", preceded by the mount of the fusectl file system
// when it is not mounted (control_mounted false).
std::string fuse_abort_hint(std::uint32_t connection, bool control_mounted = true);
// "echo 1 > /sys/fs/nfs/MAJ:MIN/shutdown": the NFS client fails every pending and later request
// of that mount with EIO (for good: the mount must be unmounted and mounted again).
std::string nfs_shutdown_hint(const std::string &shutdown_file);

} // namespace freezeprobe
