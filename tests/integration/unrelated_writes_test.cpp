// The tracepoint mode sees every write(2) on the node; all but the watched control files must be
// dropped in the kernel. A storm of other writes, including other files of the same cgroups,
// produces no event and loses nothing. The cgroups are in the freezers the layout has
// (freezable(): the v1 freezer, cgroup v2, or both), so that every layout runs it.
#include "probe_harness.h"

#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

class UnrelatedWritesTest : public ProbeTest {};

void write_many(const std::string &path, std::string_view data, int times) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << path;
    for (int i = 0; i < times; ++i)
        ASSERT_GE(::write(fd, data.data(), data.size()), 0) << path;
    ::close(fd);
}

TEST_F(UnrelatedWritesTest, StormOfOtherWritesProducesNoEvent) {
    std::vector<std::unique_ptr<ScratchCgroup>> cgroups;
    for (const Hierarchy *h : freezable())
        cgroups.push_back(std::make_unique<ScratchCgroup>(*h, prefix_ + "/storm"));
    auto tmp = std::filesystem::path(::testing::TempDir()) / ("storm-" + random_hex(8));
    {
        int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ::close(fd);
    }

    write_many("/dev/null", "x", 200'000);
    for (auto &cg : cgroups) {
        // The bytes of a freeze, to an ordinary file.
        write_many(tmp, std::string(cg->freeze_value(true)) + "\n", 20'000);
        if (cg->version() == 1) // same cgroup, unwatched v1 file
            write_many(cg->file("notify_on_release"), "0", 2'000);
        else // same cgroup, unwatched v2 file
            write_many(cg->file("cgroup.max.depth"), "max", 2'000);
    }
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    for (int i = 0; i < 10'000; ++i) {
        char c = 'p';
        ASSERT_EQ(::write(pipefd[1], &c, 1), 1);
        ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
    }
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    std::filesystem::remove(tmp);

    // A marker write proves the probe was live through the storm: a thaw, in cgroup v2 where the
    // layout has it.
    const ScratchCgroup &marked = *cgroups.back();
    write_control_file_or_throw(marked.freeze_file(), marked.freeze_value(false));
    ASSERT_TRUE(wait_for_count(1));
    collect_for(std::chrono::milliseconds(300));
    ASSERT_EQ(events_.size(), 1u) << "only the marker write may be reported";
    auto &marker = std::get<FreezeWrite>(events_[0].body);
    EXPECT_EQ(marker.value, marked.freeze_value(false));
    EXPECT_EQ(session_->events_lost(), 0u);
    for (auto it = cgroups.rbegin(); it != cgroups.rend(); ++it)
        (*it)->remove();
}

} // namespace
} // namespace freezeprobe::testing
