// Blocker causes from what was read: stacks and wchans of real waits (copied from
// /proc/PID/stack on 6.18), mountinfo lines, /proc/PID/syscall text, and the cause text.
#include "blocker_cause.h"
#include "fuse_daemons.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

namespace freezeprobe {
namespace {

TEST(ClassifyWait, FuseReadWaitsInRequestWaitAnswer) {
    auto site = classify_wait({"request_wait_answer+0xd6/0x290", "__fuse_simple_request+0xd8/0x2c0",
                               "fuse_do_readfolio+0x14d/0x1a0", "filemap_read_folio+0x40/0xe0",
                               "filemap_read+0x2f3/0x3a0", "vfs_read+0x28c/0x370"},
                              "request_wait_answer");
    EXPECT_EQ(site.kind, CauseKind::fuse);
    EXPECT_EQ(site.frame, "request_wait_answer");
}

TEST(ClassifyWait, PageLockOfAFusePageIsFuseNotBlockIo) {
    // A second reader of the same page waits for the page lock, inside FUSE's read path.
    auto site = classify_wait({"folio_wait_bit_common+0x13c/0x350", "filemap_read+0x2c1/0x3a0",
                               "fuse_file_read_iter+0xf1/0x160", "vfs_read+0x28c/0x370"},
                              "folio_wait_bit_common");
    EXPECT_EQ(site.kind, CauseKind::fuse);
}

TEST(ClassifyWait, BlockDeviceReadIsBlockIo) {
    auto site = classify_wait({"folio_wait_bit_common+0x13c/0x350", "filemap_read+0x2c1/0x3a0",
                               "blkdev_read_iter+0x6d/0x160", "vfs_read+0x28c/0x370"},
                              "folio_wait_bit_common");
    EXPECT_EQ(site.kind, CauseKind::block_io);
    EXPECT_EQ(site.frame, "folio_wait_bit_common");
    EXPECT_EQ(classify_wait({"io_schedule+0x42/0x70", "submit_bio_wait+0x5b/0x90"}, "").kind,
              CauseKind::block_io);
    EXPECT_EQ(classify_wait({"blk_mq_get_tag+0x11e/0x2b0"}, "").kind, CauseKind::block_io);
}

TEST(ClassifyWait, NfsAndRpcWaits) {
    EXPECT_EQ(classify_wait({"rpc_wait_bit_killable+0x1d/0x90", "__rpc_execute+0x10f/0x430",
                             "nfs4_do_call_sync+0x69/0xa0"},
                            "")
                  .kind,
              CauseKind::nfs);
    EXPECT_EQ(classify_wait({}, "nfs_wait_bit_killable").kind, CauseKind::nfs);
}

TEST(ClassifyWait, InnermostOfLockAndBlockIoDecides) {
    auto site = classify_wait(
        {"rwsem_down_write_slowpath+0x22e/0x5a0", "down_write+0x5a/0x60", "do_truncate+0x7d/0xd0"},
        "");
    EXPECT_EQ(site.kind, CauseKind::lock);
    EXPECT_EQ(site.frame, "rwsem_down_write_slowpath");
    EXPECT_EQ(
        classify_wait({"__mutex_lock.constprop.0+0x17d/0x6d0", "io_schedule+0x1/0x2"}, "").kind,
        CauseKind::lock);
}

TEST(ClassifyWait, UnknownKeepsTheInnermostFrameOrWchan) {
    auto site = classify_wait({"do_nanosleep+0x6a/0x170", "hrtimer_nanosleep+0x8d/0x120"}, "");
    EXPECT_EQ(site.kind, CauseKind::unknown);
    EXPECT_EQ(site.frame, "do_nanosleep");
    EXPECT_EQ(classify_wait({}, "pipe_read").frame, "pipe_read");
    EXPECT_EQ(classify_wait({}, "0").frame, "");
}

TEST(Mountinfo, ParsesFieldsAndUnescapesPaths) {
    auto mounts = parse_mountinfo(
        "24 1 0:22 / /dev rw,nosuid - devtmpfs udev rw,size=1k\n"
        "61 24 0:51 / /tmp/a\\040b rw,nosuid,nodev shared:7 - fuse.hangfs hangfs rw,user_id=0\n"
        "62 24 7:3 / /mnt/img rw - ext4 /dev/loop3 rw\n"
        "garbage line\n");
    ASSERT_EQ(mounts.size(), 3u);
    EXPECT_EQ(mounts[1].id, 61u);
    EXPECT_EQ(mounts[1].mount_point, "/tmp/a b");
    EXPECT_EQ(mounts[1].fs_type, "fuse.hangfs");
    EXPECT_EQ(mounts[1].minor, 51u);
    EXPECT_EQ(fuse_connection(mounts[1]), 51u);
    EXPECT_FALSE(fuse_connection(mounts[2]));
    EXPECT_EQ(mount_by_id(mounts, 62)->source, "/dev/loop3");
    EXPECT_EQ(mount_of_path(mounts, "/tmp/a b/file")->id, 61u);
    EXPECT_EQ(mount_of_path(mounts, "/dev/loop0")->id, 24u);
    EXPECT_EQ(mount_of_path(mounts, "/mnt/imgx"), nullptr);
}

TEST(Mountinfo, FuseblkConnectionIsTheKernelDevT) {
    MountEntry m;
    m.fs_type = "fuseblk";
    m.major = 8;
    m.minor = 1;
    EXPECT_EQ(fuse_connection(m), (8u << 20) | 1u);
}

TEST(SyscallFd, OnlyForSyscallsOnADescriptor) {
    auto line = [](long nr, const char *arg0) {
        return std::to_string(nr) + " " + arg0 + " 0x7ffd5c1c2a40 0x1000 0x0 0x0 0x0 0x7ffd 0x7f";
    };
    EXPECT_EQ(syscall_fd(line(SYS_read, "0x3")), 3);
    EXPECT_EQ(syscall_fd(line(SYS_pread64, "0x1f")), 31);
    EXPECT_EQ(syscall_fd(line(SYS_fsync, "0x5")), 5);
    EXPECT_FALSE(syscall_fd(line(SYS_openat, "0xffffff9c")));
    EXPECT_FALSE(syscall_fd("running"));
    EXPECT_FALSE(syscall_fd("-1 0x7ffd 0x0"));
    EXPECT_FALSE(syscall_fd(""));
}

TEST(FdinfoMntId, ReadsTheMountId) {
    EXPECT_EQ(fdinfo_mnt_id("pos:\t0\nflags:\t0100002\nmnt_id:\t24\nino:\t89\n"), 24u);
    EXPECT_FALSE(fdinfo_mnt_id("pos:\t0\n"));
}

TEST(DescribeCause, FuseWithItsDaemon) {
    MountEntry m;
    m.mount_point = "/tmp/hang";
    m.fs_type = "fuse.hangfs";
    CauseFacts f;
    f.mount = &m;
    f.fuse_connection = 51;
    f.device = "0:51";
    f.holder = CauseHolder{77, "hangd", std::nullopt};
    auto c = describe_cause({CauseKind::fuse, "request_wait_answer"}, "D", f);
    EXPECT_EQ(c.kind, CauseKind::fuse);
    EXPECT_EQ(c.detail, "waiting for a FUSE daemon to answer (connection 51 on /tmp/hang "
                        "(fuse.hangfs)) served by pid 77 (hangd)");
    EXPECT_EQ(c.device, "0:51");
    EXPECT_EQ(c.hint, "echo 1 > /sys/fs/fuse/connections/51/abort");
    ASSERT_TRUE(c.holder);
    EXPECT_EQ(c.holder->pid, 77u);
}

TEST(DescribeCause, FuseWithoutFactsHasNoHolderNorHint) {
    auto c = describe_cause({CauseKind::fuse, "request_wait_answer"}, "D", {});
    EXPECT_EQ(c.detail, "waiting for a FUSE daemon to answer");
    EXPECT_FALSE(c.holder);
    EXPECT_FALSE(c.hint);
    EXPECT_FALSE(c.device);
}

TEST(DescribeCause, LoopDeviceOnFuse) {
    CauseFacts f;
    f.device = "7:3";
    f.device_name = "loop3";
    f.backing_file = "/tmp/hang/img";
    f.backing_fuse_connection = 51;
    f.holder = CauseHolder{77, "hangd", Container{std::string(64, 'a'), "containerd", {}, {}}};
    f.other_holders = 1;
    auto c = describe_cause({CauseKind::block_io, "folio_wait_bit_common"}, "D", f);
    EXPECT_EQ(c.kind, CauseKind::block_io);
    EXPECT_EQ(c.detail, "waiting for block I/O on loop3, a loop device backed by /tmp/hang/img on "
                        "FUSE connection 51 served by pid 77 (hangd) in container aaaaaaaaaaaa "
                        "(and 1 other holder of its /dev/fuse)");
    EXPECT_EQ(c.device, "7:3");
    EXPECT_EQ(c.hint, "echo 1 > /sys/fs/fuse/connections/51/abort");
}

TEST(DescribeCause, OtherKinds) {
    EXPECT_EQ(describe_cause({CauseKind::block_io, "io_schedule"}, "D", {}).detail,
              "waiting for block I/O");
    EXPECT_EQ(describe_cause({CauseKind::lock, "__mutex_lock"}, "D", {}).detail,
              "waiting for a kernel lock (__mutex_lock)");
    EXPECT_EQ(describe_cause({CauseKind::nfs, "rpc_wait_bit_killable"}, "D", {}).detail,
              "waiting for a network file system server (at rpc_wait_bit_killable)");
    EXPECT_EQ(describe_cause({CauseKind::unknown, ""}, "R", {}).detail,
              "running: busy in the kernel or on a CPU");
    EXPECT_EQ(describe_cause({CauseKind::unknown, "do_nanosleep"}, "D", {}).detail,
              "in an uninterruptible sleep the freezer cannot break (at do_nanosleep)");
    EXPECT_FALSE(describe_cause({CauseKind::lock, "x"}, "D", {}).hint);
}

TEST(DescribeCause, NetworkFsNamesServerAndMountAndTheShutdownKnob) {
    MountEntry m;
    m.mount_point = "/mnt/share";
    m.fs_type = "nfs";
    m.source = "10.0.0.5:/export";
    CauseFacts f;
    f.mount = &m;
    f.device = "0:53";
    auto c = describe_cause({CauseKind::nfs, "folio_wait_bit_common"}, "D", f);
    EXPECT_EQ(c.detail,
              "waiting for a network file system server (10.0.0.5:/export) on /mnt/share (nfs)");
    EXPECT_FALSE(c.hint); // no shutdown knob seen (before 6.7, or another network namespace)
    EXPECT_EQ(c.device, "0:53");
    EXPECT_FALSE(c.holder);
    f.nfs_shutdown = "/sys/fs/nfs/0:53/shutdown";
    EXPECT_EQ(describe_cause({CauseKind::nfs, "x"}, "D", f).hint,
              "echo 1 > /sys/fs/nfs/0:53/shutdown");
    m.source.clear();
    EXPECT_EQ(describe_cause({CauseKind::nfs, "x"}, "D", f).detail,
              "waiting for a network file system server on /mnt/share (nfs)");
    EXPECT_FALSE(describe_cause({CauseKind::nfs, "rpc_wait_bit_killable"}, "D", {}).hint);
}

TEST(FuseHolders, ByConnectionWhenKnown) {
    std::vector<FuseFd> fds{{30, 4, 51u}, {12, 3, 52u}, {30, 9, 51u}, {41, 5, 51u}, {5, 3, 0u}};
    EXPECT_EQ(fuse_holders(fds, 51), (std::vector<std::uint32_t>{30, 41}));
    EXPECT_EQ(fuse_holders(fds, 52), (std::vector<std::uint32_t>{12}));
    EXPECT_TRUE(fuse_holders(fds, 53).empty());
}

TEST(FuseHolders, FromProcOnlyASingleHolderIsNamed) {
    EXPECT_EQ(fuse_holders({{30, 4, std::nullopt}, {30, 5, std::nullopt}}, 51),
              (std::vector<std::uint32_t>{30}));
    EXPECT_TRUE(fuse_holders({{30, 4, std::nullopt}, {31, 4, std::nullopt}}, 51).empty());
}

} // namespace
} // namespace freezeprobe
