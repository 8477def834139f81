// What the process may do, from the CapEff mask and the BTF file, without touching the kernel.
#include "privileges.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string &s, const std::string &part) {
    return s.find(part) != std::string::npos;
}

TEST(MissingCapabilities, RootHasEverything) {
    EXPECT_EQ(missing_capabilities("000001ffffffffff"), std::nullopt);
    EXPECT_EQ(missing_capabilities("000001ffffffffff\n"), std::nullopt);
    EXPECT_EQ(missing_capabilities("ffffffffffffffff"), std::nullopt);
}

TEST(MissingCapabilities, NothingNamesAllThree) {
    auto missing = missing_capabilities("0000000000000000");
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(*missing, "CAP_SYS_ADMIN")) << *missing;
    EXPECT_TRUE(contains(*missing, "CAP_BPF")) << *missing;
    EXPECT_TRUE(contains(*missing, "CAP_PERFMON")) << *missing;
    EXPECT_TRUE(contains(*missing, "root")) << *missing;
}

TEST(MissingCapabilities, BpfAndPerfmonOnlyNeedSysAdmin) {
    auto missing = missing_capabilities("000000c000000000"); // bits 38 and 39
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(*missing, "CAP_SYS_ADMIN")) << *missing;
    EXPECT_FALSE(contains(*missing, "CAP_BPF")) << *missing;
    EXPECT_FALSE(contains(*missing, "CAP_PERFMON")) << *missing;
}

TEST(MissingCapabilities, OneOfBpfAndPerfmon) {
    auto no_perfmon = missing_capabilities("0000008000000000"); // CAP_BPF only
    ASSERT_TRUE(no_perfmon);
    EXPECT_TRUE(contains(*no_perfmon, "CAP_PERFMON")) << *no_perfmon;
    EXPECT_FALSE(contains(*no_perfmon, "CAP_BPF")) << *no_perfmon;
}

TEST(MissingCapabilities, SysAdminAloneSuffices) {
    // Kernels before 5.8 have no CAP_BPF/CAP_PERFMON; CAP_SYS_ADMIN covers both after.
    EXPECT_EQ(missing_capabilities("0000000000200000"), std::nullopt);
}

TEST(MissingCapabilities, RootWithDroppedCapabilitiesIsNotToldToRunAsRoot) {
    auto missing = missing_capabilities("000000c000000000", true);
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(*missing, "CAP_SYS_ADMIN")) << *missing;
    EXPECT_TRUE(contains(*missing, "restricted capability set")) << *missing;
    EXPECT_FALSE(contains(*missing, "run as root")) << *missing;
}

TEST(MissingCapabilities, GarbageGivesAMessage) {
    for (const char *garbage : {"", "zzzz", "not hex", "1ffffffffffffffffffff"}) {
        auto missing = missing_capabilities(garbage);
        ASSERT_TRUE(missing) << garbage;
        EXPECT_FALSE(missing->empty()) << garbage;
    }
}

TEST(MissingCapabilities, ThisProcessAnswers) {
    // Whatever this process may do, the call reads /proc/self/status and does not throw.
    EXPECT_NO_THROW(missing_capabilities());
}

class MissingBtfTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) /
               ("freezeprobe_privileges_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(MissingBtfTest, NonexistentPathIsNamed) {
    auto path = (dir_ / "no_such_vmlinux").string();
    auto missing = missing_btf(path.c_str());
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(*missing, path)) << *missing;
    EXPECT_TRUE(contains(*missing, "CONFIG_DEBUG_INFO_BTF")) << *missing;
}

TEST_F(MissingBtfTest, NonEmptyFileIsEnough) {
    auto path = dir_ / "vmlinux";
    std::ofstream(path) << "\x9f\xeb\x01\x00 pretend BTF";
    EXPECT_EQ(missing_btf(path.c_str()), std::nullopt);
}

TEST_F(MissingBtfTest, EmptyFileIsNot) {
    auto path = dir_ / "empty";
    std::ofstream{path};
    auto missing = missing_btf(path.c_str());
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(*missing, path.string())) << *missing;
}

} // namespace
} // namespace freezeprobe
