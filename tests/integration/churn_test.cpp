// Kernel-side and cache state under churn: a cgroup removed while its freeze is pending ends the
// episode as `removed`; short-lived cgroups made and removed while watched are each named by
// their own id and path (the cache never gives a removed cgroup's path to another one, even at
// the same path); and a thread killed in the middle of a watched write leaves no entry in the BPF
// map of writes in flight (pending_ios, keyed by thread id).
#include "bpf_objects.h"
#include "hang_fuse.h"
#include "probe_harness.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using namespace std::chrono_literals;

class ChurnTest : public ProbeTest {};

std::uint64_t inode_of(const std::string &dir) {
    struct stat st {};
    EXPECT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    return st.st_ino; // the kernfs id, which is the cgroup id
}

TEST_F(ChurnTest, CgroupRemovedWhileFreezingEndsItsEpisodeRemoved) {
    REQUIRE_V1_FREEZER(v1_);
    ScratchCgroup parent(v1(), prefix_ + "/parent");
    auto dir = parent.dir() + "/going";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    auto id = inode_of(dir);
    // An empty v1 cgroup becomes FROZEN only once its state is read: remove it before anything
    // reads it. (The session is polled only below, so its own read cannot come first.)
    write_control_file_or_throw(dir + "/freezer.state", "FROZEN");
    ASSERT_EQ(::rmdir(dir.c_str()), 0);
    ASSERT_TRUE(wait_for([](const std::vector<Event> &e) {
        return !of_type<FreezeEpisode>(e).empty();
    })) << events_.size();
    auto episodes = of_type<FreezeEpisode>(events_);
    ASSERT_EQ(episodes.size(), 1u);
    EXPECT_EQ(episodes[0].second.outcome, EpisodeOutcome::removed);
    EXPECT_EQ(episodes[0].first.cgroup->id, id);
    EXPECT_EQ(episodes[0].first.cgroup->path, parent.path() + "/going");
    EXPECT_EQ(session_->pending().size(), 0u);
}

// 400 cgroups, in turn in each freezer hierarchy the layout mounts (v1 and v2 in hybrid), made
// and removed one after the other under 8 reused names: each write event carries the id of the
// directory written and the path that id had.
TEST_F(ChurnTest, ShortLivedCgroupsAreEachNamedRight) {
    std::vector<std::unique_ptr<ScratchCgroup>> parents;
    for (const Hierarchy *h : freezable())
        parents.push_back(std::make_unique<ScratchCgroup>(*h, prefix_ + "/churn"));
    std::map<std::pair<int, std::uint64_t>, std::string> path_of; // (version, id) -> path
    const int n = 400;
    for (int i = 0; i < n; ++i) {
        auto &parent = *parents[i % parents.size()];
        auto name = "c" + std::to_string(i % 8);
        auto dir = parent.dir() + "/" + name;
        ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
        path_of[{parent.version(), inode_of(dir)}] = parent.path() + "/" + name;
        EXPECT_EQ(write_control_file(dir + "/cgroup.procs", "x"), EINVAL);
        write_control_file_or_throw(dir + "/" + freeze_file_name(parent.version()),
                                    freeze_value(parent.version(), false));
        ASSERT_EQ(::rmdir(dir.c_str()), 0) << dir;
        if (i % 50 == 49)
            session_->drain();
    }
    ASSERT_TRUE(wait_for_count(2 * n)) << events_.size();
    collect_for(200ms);
    std::size_t writes = 0;
    for (auto &e : events_) {
        if (!std::holds_alternative<FreezeWrite>(e.body) &&
            !std::holds_alternative<ProcsWrite>(e.body))
            continue;
        ++writes;
        ASSERT_TRUE(e.cgroup);
        std::pair key{e.cgroup->version, e.cgroup->id};
        ASSERT_TRUE(path_of.contains(key)) << "unknown id " << e.cgroup->id;
        EXPECT_EQ(e.cgroup->path, path_of[key]);
    }
    EXPECT_EQ(writes, 2u * n);
}

// A writer whose buffer is a page of a FUSE file that never answers: the kernel's copy of the
// written bytes faults, and the thread waits in request_wait_answer in the middle of its write,
// with its entry in pending_ios. SIGKILL cannot end that wait; once the read fails the write
// returns (EFAULT), the syscall exit runs as the thread dies, and the entry goes.
// The fault may send more than one READ (readahead, then a read of the one page when that
// fails), so the connection is aborted rather than the held reads failed: failing only the first
// left the second held for ever in the VM, and the test waiting for the child.
TEST_F(ChurnTest, ThreadKilledInAWatchedWriteLeavesNoEntryInFlight) {
    // Any cgroup.procs will do: the v1 freezer's where the layout mounts it, else v2's.
    ScratchCgroup cg(freezer(), prefix_ + "/killed-writer");
    HangFuse fuse;
    auto file = fuse.file_path();
    auto procs = cg.file("cgroup.procs");
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close_range(3, ~0U, 0); // no copy of the FUSE connection
        int f = ::open(file.c_str(), O_RDONLY);
        void *page = f < 0 ? MAP_FAILED : ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, f, 0);
        int w = ::open(procs.c_str(), O_WRONLY);
        if (page == MAP_FAILED || w < 0)
            ::_exit(90);
        ssize_t n = ::write(w, page, 8);
        ::_exit(n < 0 ? 91 : 92);
    }
    struct Reap {
        pid_t pid;
        HangFuse &fuse;
        ~Reap() {
            if (pid <= 0)
                return;
            ::kill(pid, SIGKILL);
            fuse.abort_connection();
            ::waitpid(pid, nullptr, 0);
        }
    } reap{child, fuse};
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 5s)) << "the write did not block on the FUSE page";
    auto map = bpf_map_id(::getpid(), "pending_ios");
    auto keys = bpf_map_u32_keys(map);
    EXPECT_NE(std::find(keys.begin(), keys.end(), static_cast<std::uint32_t>(child)), keys.end())
        << "the blocked write is in flight";

    ASSERT_EQ(::kill(child, SIGKILL), 0);
    std::this_thread::sleep_for(200ms);
    keys = bpf_map_u32_keys(map);
    EXPECT_NE(std::find(keys.begin(), keys.end(), static_cast<std::uint32_t>(child)), keys.end())
        << "killed, but still inside its write until the read is answered";

    fuse.abort_connection();
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    reap.pid = -1;
    ASSERT_TRUE(wait_for([&](const std::vector<Event> &e) {
        for (auto &[event, w] : of_type<ProcsWrite>(e))
            if (w.writer.pid == static_cast<std::uint32_t>(child))
                return true;
        return false;
    })) << "the killed thread's write is reported";
    auto writes = of_type<ProcsWrite>(events_);
    EXPECT_NE(writes.back().second.err, 0);
    keys = bpf_map_u32_keys(map);
    EXPECT_EQ(std::find(keys.begin(), keys.end(), static_cast<std::uint32_t>(child)), keys.end())
        << "the dead thread's entry is still in pending_ios";
}

} // namespace
} // namespace freezeprobe::testing
