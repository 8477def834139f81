// The raw FUSE protocol, just enough of it: the kernel writes requests (fuse_in_header + body) to
// /dev/fuse and we answer each with one write of fuse_out_header + payload, matched by `unique`.
// No libfuse: we need to hold READs forever and to ignore INTERRUPT, which libfuse would not let
// us do cleanly.
#include "hang_fuse.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {
namespace {

constexpr std::uint64_t kRootNode = FUSE_ROOT_ID; // 1
constexpr std::uint64_t kFileNode = 2;
constexpr const char *kFileName = "hang";
constexpr std::uint32_t kMaxWrite = 4096;
// The kernel refuses reads of /dev/fuse smaller than 8192 or header + write header + max_write.
constexpr std::size_t kBufferSize = 128 * 1024;
constexpr std::size_t kReadReplySize = 16;
constexpr char kReadReplyData[kReadReplySize] = "freezeprobe-hng";

[[noreturn]] void throw_errno(int err, const std::string &what) {
    throw std::system_error(err, std::generic_category(), "HangFuse: " + what);
}

fuse_attr attributes(std::uint64_t node) {
    fuse_attr a{};
    a.ino = node;
    if (node == kRootNode) {
        a.mode = S_IFDIR | 0755;
        a.nlink = 2;
    } else {
        a.mode = S_IFREG | 0444;
        a.nlink = 1;
        a.size = 4096;
        a.blocks = 8;
    }
    a.blksize = 4096;
    return a;
}

} // namespace

HangFuse::HangFuse(const std::string &base_dir) {
    try {
        std::string templ = base_dir + "/freezeprobe-hangfs-XXXXXX";
        if (!::mkdtemp(templ.data()))
            throw_errno(errno, "creating a mount point under " + base_dir);
        mount_point_ = templ;

        // Non-blocking: the serving thread reads only after poll() says a request is there, and
        // a read that races with an interrupted request then fails with EAGAIN, not a hang.
        fuse_fd_ = ::open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fuse_fd_ < 0)
            throw_errno(errno, "opening /dev/fuse");
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0)
            throw_errno(errno, "eventfd");

        // allow_other: the readers are other processes (forked children), maybe other users.
        std::string opts = "fd=" + std::to_string(fuse_fd_) +
                           ",rootmode=40000,user_id=" + std::to_string(::geteuid()) +
                           ",group_id=" + std::to_string(::getegid()) + ",allow_other";
        if (::mount("hangfs", mount_point_.c_str(), "fuse.hangfs", MS_NOSUID | MS_NODEV,
                    opts.c_str()) != 0)
            throw_errno(errno, "mounting FUSE at " + mount_point_);
        mounted_ = true;

        thread_ = std::thread([this] { serve(); });

        // mount() returns before INIT is answered; wait so that a broken setup fails here and
        // not as a mysteriously blocked open() later.
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return initialized_ || ended_; }) ||
            !initialized_)
            throw_errno(ETIMEDOUT, "no FUSE_INIT from the kernel for " + mount_point_);
    } catch (...) {
        cleanup();
        throw;
    }
}

HangFuse::~HangFuse() {
    cleanup();
}

bool HangFuse::wait_for_held_reads(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return held_.size() >= n || ended_; });
    return held_.size() >= n;
}

std::size_t HangFuse::held_reads() const {
    std::lock_guard lock(mu_);
    return held_.size();
}

void HangFuse::answer_reads() {
    release_held(0);
}

void HangFuse::fail_reads(int err) {
    release_held(err > 0 ? err : EIO);
}

void HangFuse::answer_reads_at_once(bool on) {
    std::lock_guard lock(mu_);
    answer_at_once_ = on;
}

void HangFuse::release_held(int error) {
    const char *data = kReadReplyData;
    std::lock_guard lock(mu_);
    for (auto unique : held_)
        reply(unique, error, error ? nullptr : data, error ? 0 : kReadReplySize);
    held_.clear();
}

void HangFuse::abort_connection() {
    stop_thread();
    // Closing the last descriptor of the connection aborts it: the kernel ends every request,
    // sent or queued, with ECONNABORTED and fails later ones with ENOTCONN.
    std::lock_guard lock(mu_);
    if (fuse_fd_ >= 0)
        ::close(fuse_fd_);
    fuse_fd_ = -1;
    held_.clear();
    ended_ = true;
    cv_.notify_all();
}

void HangFuse::stop_thread() {
    if (!thread_.joinable())
        return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one); // cannot fail: counter < max
    thread_.join();
}

// Never throws, never waits on anything but our own thread, which always stops when told.
void HangFuse::cleanup() noexcept {
    {
        std::lock_guard lock(mu_);
        closing_ = true;
    }
    // Release readers first, so no task stays in D state and no freeze stays blocked, even if
    // the connection outlives us in a forked child that still holds the descriptor.
    release_held(EIO);
    if (mounted_ && ::umount2(mount_point_.c_str(), MNT_DETACH) == 0)
        mounted_ = false;
    try {
        abort_connection();
    } catch (...) {
        // Only std::thread::join can throw (deadlock/invalid); the fd is closed below anyway.
    }
    if (fuse_fd_ >= 0)
        ::close(fuse_fd_);
    fuse_fd_ = -1;
    if (wake_fd_ >= 0)
        ::close(wake_fd_);
    wake_fd_ = -1;
    if (!mount_point_.empty())
        ::rmdir(mount_point_.c_str());
}

void HangFuse::serve() {
    std::vector<char> buf(kBufferSize);
    for (;;) {
        pollfd fds[2] = {{fuse_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break; // stop requested
        if (!fds[0].revents)
            continue;
        ssize_t n = ::read(fuse_fd_, buf.data(), buf.size());
        if (n < 0) {
            // ENOENT: the request was interrupted away before we read it; EAGAIN: someone
            // else's; ENODEV: unmounted or aborted, the end.
            if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
                continue;
            break;
        }
        if (n == 0)
            break;
        if (static_cast<std::size_t>(n) >= sizeof(fuse_in_header))
            handle(buf.data(), static_cast<std::size_t>(n));
    }
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
}

void HangFuse::handle(const char *msg, std::size_t len) {
    fuse_in_header in;
    std::memcpy(&in, msg, sizeof in);
    const char *body = msg + sizeof in;
    std::size_t body_len = std::min<std::size_t>(len, in.len) - sizeof in;

    switch (in.opcode) {
    case FUSE_INIT: {
        fuse_init_in init{};
        std::memcpy(&init, body, std::min(body_len, sizeof init));
        fuse_init_out out{};
        out.major = FUSE_KERNEL_VERSION;
        // Speak the older of the two protocol versions; flags 0 asks for no optional feature.
        out.minor = std::min<std::uint32_t>(init.minor, FUSE_KERNEL_MINOR_VERSION);
        out.max_readahead = init.max_readahead;
        out.max_write = kMaxWrite;
        reply(in.unique, 0, &out, out.minor < 23 ? FUSE_COMPAT_22_INIT_OUT_SIZE : sizeof out);
        std::lock_guard lock(mu_);
        initialized_ = true;
        cv_.notify_all();
        return;
    }
    case FUSE_LOOKUP: {
        std::string name(body, strnlen(body, body_len));
        if (in.nodeid != kRootNode || name != kFileName)
            return reply(in.unique, ENOENT);
        fuse_entry_out out{};
        out.nodeid = kFileNode;
        out.entry_valid = 1;
        out.attr_valid = 1;
        out.attr = attributes(kFileNode);
        return reply(in.unique, 0, &out, sizeof out);
    }
    case FUSE_GETATTR: {
        if (in.nodeid != kRootNode && in.nodeid != kFileNode)
            return reply(in.unique, ENOENT);
        fuse_attr_out out{};
        out.attr_valid = 1;
        out.attr = attributes(in.nodeid);
        return reply(in.unique, 0, &out, sizeof out);
    }
    case FUSE_OPEN: {
        if (in.nodeid != kFileNode)
            return reply(in.unique, EISDIR);
        fuse_open_out out{};
        out.fh = 1;
        // Direct I/O: every read() is a synchronous FUSE_READ in the reader's own context
        // (no page cache, no readahead by a kernel worker), so the reader itself waits.
        out.open_flags = FOPEN_DIRECT_IO;
        return reply(in.unique, 0, &out, sizeof out);
    }
    case FUSE_OPENDIR: {
        fuse_open_out out{};
        out.fh = 1;
        return reply(in.unique, 0, &out, sizeof out);
    }
    case FUSE_READ: {
        std::lock_guard lock(mu_);
        if (closing_)
            return reply(in.unique, EIO);
        if (answer_at_once_)
            return reply(in.unique, 0, kReadReplyData, kReadReplySize);
        held_.push_back(in.unique); // the whole point: no reply until released
        cv_.notify_all();
        return;
    }
    case FUSE_READDIR: // an empty listing: end of directory
    case FUSE_FLUSH:
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_ACCESS:
    case FUSE_DESTROY:
        return reply(in.unique, 0);
    case FUSE_STATFS: {
        fuse_statfs_out out{};
        out.st.bsize = out.st.frsize = 4096;
        out.st.namelen = 255;
        return reply(in.unique, 0, &out, sizeof out);
    }
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
        return; // never answered
    case FUSE_INTERRUPT:
        // Ignored, deliberately: answering the interrupted READ (or replying EAGAIN) would let
        // the reader go. A freeze signals the reader, the kernel asks us to interrupt, we
        // don't, and the reader waits on uninterruptibly in request_wait_answer.
        return;
    default:
        return reply(in.unique, ENOSYS); // GETXATTR, STATX, ...: the kernel then stops asking
    }
}

void HangFuse::reply(std::uint64_t unique, int error, const void *payload, std::size_t size) {
    fuse_out_header out{};
    out.len = static_cast<std::uint32_t>(sizeof out + size);
    out.error = -error;
    out.unique = unique;
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void *>(payload), size}};
    // One writev is one message. ENOENT means the request is gone (aborted or its reader was
    // interrupted before we read it): nothing to do, as for any other failure here.
    if (fuse_fd_ < 0)
        return;
    [[maybe_unused]] ssize_t n = ::writev(fuse_fd_, iov, size ? 2 : 1);
}

HangReader::~HangReader() {
    if (pid_ <= 0 || exit_)
        return; // never started, or reaped: the PID may belong to someone else now
    ::kill(pid_, SIGKILL);
    if (!wait_exit(std::chrono::seconds(5)))
        std::fprintf(stderr, "freezeprobe: reader %d did not exit\n", pid_);
}

void HangReader::start(const std::string &file, const std::vector<std::string> &cgroup_procs) {
    // Everything the child needs is prepared here: after fork it may only make
    // async-signal-safe calls, since the parent has other threads.
    std::vector<const char *> procs;
    for (auto &p : cgroup_procs)
        procs.push_back(p.c_str());
    const char *path = file.c_str();
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ != 0)
        return;
    ::close_range(3, ~0U, 0); // drop an inherited /dev/fuse descriptor
    for (const char *p : procs) {
        int fd = ::open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "0", 1) != 1)
            ::_exit(join_failed);
        ::close(fd);
    }
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        ::_exit(open_failed);
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::_exit(n >= 0 ? static_cast<int>(std::min<ssize_t>(n, 89)) : read_failed + errno);
}

std::optional<int> HangReader::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_)
        return exit_;
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : killed_base + WTERMSIG(status);
            return exit_;
        }
        if ((r < 0 && errno != EINTR) || std::chrono::steady_clock::now() > until)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

} // namespace freezeprobe
