// Failing writes are captured with the errno write(2) returned, for each control file and both
// hierarchies, including a write into a cgroup removed while its file was open.
#include "probe_harness.h"

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

class WriteErrorsTest : public ProbeTest {};

struct BadWrite {
    int version;
    const char *file;
    std::string value;
    int expected_errno;
};

TEST_F(WriteErrorsTest, EachBadWriteCarriesTheKernelErrno) {
    // The rows of the hierarchies this layout mounts (both in hybrid).
    std::optional<ScratchCgroup> c1, c2;
    if (v1_)
        c1.emplace(v1(), prefix_ + "/bad");
    if (v2_)
        c2.emplace(v2(), prefix_ + "/bad");
    std::vector<BadWrite> every = {
        {1, "freezer.state", "BOGUS", EINVAL},
        {2, "cgroup.freeze", "2", ERANGE},
        {2, "cgroup.freeze", "x", EINVAL},
        {2, "cgroup.procs", "abc", EINVAL},
        {1, "cgroup.procs", "abc", EINVAL},
        {1, "tasks", "-5", EINVAL},
        {2, "cgroup.procs", std::to_string(vanished_pid()), ESRCH},
        {1, "cgroup.procs", std::to_string(vanished_pid()), ESRCH},
    };
    std::vector<BadWrite> table;
    for (auto &row : every)
        if (row.version == 1 ? c1.has_value() : c2.has_value())
            table.push_back(row);
    for (auto &row : table) {
        auto &cg = row.version == 1 ? *c1 : *c2;
        int err = write_control_file(cg.file(row.file), row.value);
        ASSERT_EQ(err, row.expected_errno) << row.file << " <- " << row.value;
    }
    ASSERT_TRUE(wait_for_count(table.size()));
    ASSERT_EQ(events_.size(), table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        auto &e = events_[i];
        auto &row = table[i];
        SCOPED_TRACE(std::string(row.file) + " <- " + row.value);
        EXPECT_EQ(e.cgroup->version, row.version);
        EXPECT_EQ(e.cgroup->path, prefix_ + "/bad");
        if (auto *f = std::get_if<FreezeWrite>(&e.body)) {
            EXPECT_EQ(f->err, row.expected_errno);
            EXPECT_EQ(f->value, row.value);
        } else {
            auto &p = std::get<ProcsWrite>(e.body);
            EXPECT_EQ(p.err, row.expected_errno);
            EXPECT_EQ(file_name(p.file), std::string(row.file));
            EXPECT_EQ(p.value, row.value);
        }
    }
}

TEST_F(WriteErrorsTest, WriteIntoRemovedCgroupFails) {
    for (const Hierarchy *h : freezable()) {
        SCOPED_TRACE("v" + std::to_string(h->version));
        events_.clear();
        auto path = prefix_ + "/gone";
        std::string dir;
        int fd = -1;
        {
            ScratchCgroup cg(*h, path);
            dir = cg.dir();
            fd = ::open(cg.file("cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
            ASSERT_GE(fd, 0);
        } // removed here, with the file still open
        std::string pid = std::to_string(::getpid());
        ssize_t n = ::write(fd, pid.data(), pid.size());
        int err = n < 0 ? errno : 0;
        ::close(fd);
        ASSERT_NE(err, 0) << "the write into a removed cgroup succeeded";
        EXPECT_TRUE(err == ENODEV || err == ENOENT) << err;

        ASSERT_TRUE(wait_for([](auto &ev) { return of_type<ProcsWrite>(ev).size() >= 1; }));
        auto writes = of_type<ProcsWrite>(events_);
        EXPECT_EQ(writes[0].second.err, err);
        EXPECT_EQ(writes[0].second.target_pid, ::getpid());
        EXPECT_EQ(writes[0].first.cgroup->path, path) << "the removed cgroup keeps its path";
    }
}

} // namespace
} // namespace freezeprobe::testing
