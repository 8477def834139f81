// The tracepoint mode sees every write(2) on the node; all but the watched control files must be
// dropped in the kernel. A storm of other writes, including other files of the same cgroups,
// produces no event and loses nothing.
#include "probe_harness.h"

#include <fcntl.h>
#include <filesystem>
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
    REQUIRE_V1_FREEZER(v1_);
    REQUIRE_V2(v2_);
    ScratchCgroup c1(v1(), prefix_ + "/storm");
    ScratchCgroup c2(v2(), prefix_ + "/storm");
    auto tmp = std::filesystem::path(::testing::TempDir()) / ("storm-" + random_hex(8));
    {
        int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ::close(fd);
    }

    write_many("/dev/null", "x", 200'000);
    write_many(tmp, "FROZEN\n", 20'000);                   // same bytes, ordinary file
    write_many(c1.file("notify_on_release"), "0", 2'000);  // same cgroup, unwatched v1 file
    write_many(c2.file("cgroup.max.depth"), "max", 2'000); // same cgroup, unwatched v2 file
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

    // A marker write proves the probe was live through the storm.
    write_control_file_or_throw(c2.file("cgroup.freeze"), "0");
    ASSERT_TRUE(wait_for_count(1));
    collect_for(std::chrono::milliseconds(300));
    ASSERT_EQ(events_.size(), 1u) << "only the marker write may be reported";
    auto &marker = std::get<FreezeWrite>(events_[0].body);
    EXPECT_EQ(marker.value, "0");
    EXPECT_EQ(session_->events_lost(), 0u);
    c2.remove();
    c1.remove();
}

} // namespace
} // namespace freezeprobe::testing
