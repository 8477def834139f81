// A tiny FUSE filesystem, served over the raw /dev/fuse protocol by a thread of this process, whose
// one file never answers a read until told to. A task reading it waits in request_wait_answer;
// once a freeze signals it, the kernel sends FUSE_INTERRUPT, which we ignore, and the task stays
// in D state: the freeze of its cgroup (v1 and v2) cannot complete until the read is answered,
// failed or the connection aborted. The demo and the tests use it to block a freeze on purpose.
//
// Killing the reader does NOT release it (SIGKILL stays pending in request_wait_answer); only
// answer_reads(), fail_reads(), abort_connection() or the destructor do.
//
// A process forked from this one inherits the /dev/fuse descriptor. The connection ends only when
// its last descriptor closes, so a forked reader should close inherited descriptors (e.g.
// close_range(3, ~0U, 0)) or abort_connection() cannot abort it.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace freezeprobe {

// A FUSE filesystem served by a thread of this process, with one file whose reads are held
// unanswered until released. Used by the demo and the tests to block a cgroup freeze on purpose.
class HangFuse {
  public:
    // Mounts at a new directory under base_dir (created; e.g. /tmp) and starts serving.
    // Throws std::system_error with context on failure (no /dev/fuse, mount refused...).
    explicit HangFuse(const std::string &base_dir = "/tmp");
    // Answers held reads with EIO, then unmounts (MNT_DETACH), stops the thread, closes the
    // connection (aborting anything still waiting) and removes the directory. Never throws.
    ~HangFuse();
    HangFuse(const HangFuse &) = delete;
    HangFuse &operator=(const HangFuse &) = delete;

    const std::string &mount_point() const { return mount_point_; }
    std::string file_path() const { return mount_point_ + "/hang"; }
    // Blocks until at least n READ requests are being held, or timeout; returns whether they are.
    bool wait_for_held_reads(std::size_t n, std::chrono::milliseconds timeout);
    std::size_t held_reads() const;
    void answer_reads(); // reply to every held READ with 16 bytes of data
    // While on, new READs are answered at once (16 bytes) instead of held: a loop device set
    // up on the file can be attached (its set-up may read) before the reads are held.
    void answer_reads_at_once(bool on);
    void fail_reads(int err = EIO); // reply to every held READ with -err
    // Closes the /dev/fuse fd: every waiter gets ECONNABORTED; serving stops.
    void abort_connection();

  private:
    void serve();
    void handle(const char *msg, std::size_t len);
    void reply(std::uint64_t unique, int error, const void *payload = nullptr,
               std::size_t size = 0);
    void release_held(int error);
    void stop_thread();
    void cleanup() noexcept;

    std::string mount_point_;
    int fuse_fd_ = -1;
    int wake_fd_ = -1; // eventfd: tells the serving thread to stop
    bool mounted_ = false;
    std::thread thread_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::uint64_t> held_; // uniques of unanswered READs
    bool initialized_ = false;        // INIT answered
    bool ended_ = false;              // serving stopped (unmounted, aborted or stopped)
    bool closing_ = false;            // new READs are failed at once instead of held
    bool answer_at_once_ = false;     // new READs are answered at once instead of held
};

// A forked child that joins cgroups (writes "0" to each given cgroup.procs), then reads a file
// once and exits with a code that reports the result: the byte count (capped at 89),
// read_failed + errno, join_failed or open_failed. It closes inherited descriptors first, so
// that it holds no copy of a HangFuse connection. Killed (by its PID) and reaped on destruction.
class HangReader {
  public:
    static constexpr int join_failed = 90;
    static constexpr int open_failed = 91;
    static constexpr int read_failed = 100;
    static constexpr int killed_base = 1000; // wait_exit() for death by signal S: 1000 + S

    HangReader() = default;
    ~HangReader();
    HangReader(const HangReader &) = delete;
    HangReader &operator=(const HangReader &) = delete;

    void start(const std::string &file, const std::vector<std::string> &cgroup_procs = {});
    pid_t pid() const { return pid_; }
    // The exit code (or killed_base + signal) once the child ends within timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  private:
    pid_t pid_ = -1;
    std::optional<int> exit_;
};

} // namespace freezeprobe
