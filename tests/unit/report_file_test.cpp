// Report files: written whole or not at all, with the mode asked for, replacing (never following)
// a link planted at the path; and the up-front check that says why a path will not do.
#include "read_file.h"
#include "report_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

class ReportFile : public testing::Test {
  protected:
    void SetUp() override {
        char dir[] = "/tmp/report_file_test.XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::string read(const fs::path &path) { return read_file(path.string()); }
    std::size_t entries() const {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
    }

    fs::path dir_;
};

TEST_F(ReportFile, WritesAndReplaces) {
    auto path = (dir_ / "report.json").string();
    write_file_atomically(path, "first\n", 0644);
    EXPECT_EQ(read(path), "first\n");
    write_file_atomically(path, std::string("second\0with nul", 15), 0644);
    EXPECT_EQ(read(path), std::string("second\0with nul", 15));
    write_file_atomically(path, "", 0644);
    EXPECT_EQ(read(path), "");
    EXPECT_EQ(entries(), 1u) << "no temporary file left behind";
}

TEST_F(ReportFile, ModeIgnoresUmask) {
    auto old = ::umask(077);
    auto path = (dir_ / "metrics.prom").string();
    write_file_atomically(path, "x", 0644);
    ::umask(old);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);

    write_file_atomically(path, "y", 0600);
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ReportFile, PlantedSymlinkIsReplacedNotFollowed) {
    auto target = dir_ / "precious";
    std::ofstream(target) << "keep me";
    auto path = dir_ / "junit.xml";
    fs::create_symlink(target, path);
    write_file_atomically(path.string(), "<xml/>", 0644);
    EXPECT_EQ(read(target), "keep me");
    EXPECT_FALSE(fs::is_symlink(path));
    EXPECT_EQ(read(path), "<xml/>");

    // A dangling link too: nothing is created where it points.
    auto nowhere = dir_ / "nowhere";
    auto dangling = dir_ / "dangling.json";
    fs::create_symlink(nowhere, dangling);
    write_file_atomically(dangling.string(), "{}", 0644);
    EXPECT_FALSE(fs::exists(nowhere));
    EXPECT_EQ(read(dangling), "{}");
}

TEST_F(ReportFile, FailuresNameThePath) {
    auto missing = (dir_ / "no-such-dir" / "report.json").string();
    try {
        write_file_atomically(missing, "x", 0644);
        FAIL() << "no exception";
    } catch (const std::system_error &e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }

    auto subdir = dir_ / "sub";
    fs::create_directory(subdir);
    fs::create_directory(subdir / "inner"); // rename() may not replace a non-empty directory
    EXPECT_THROW(write_file_atomically(subdir.string(), "x", 0644), std::system_error);
    EXPECT_TRUE(fs::is_directory(subdir / "inner"));
    EXPECT_THROW(write_file_atomically(dir_.string() + "/", "x", 0644), std::system_error);
    EXPECT_EQ(entries(), 1u) << "no temporary file left behind";
}

TEST_F(ReportFile, CheckWritable) {
    EXPECT_EQ(check_writable((dir_ / "report.json").string()), std::nullopt);
    auto existing = dir_ / "old.json";
    std::ofstream(existing) << "old";
    EXPECT_EQ(check_writable(existing.string()), std::nullopt);
    auto link = dir_ / "link.json";
    fs::create_symlink(existing, link);
    EXPECT_EQ(check_writable(link.string()), std::nullopt);

    auto missing = check_writable((dir_ / "no-such-dir" / "report.json").string());
    ASSERT_TRUE(missing);
    EXPECT_NE(missing->find("no-such-dir"), std::string::npos) << *missing;

    auto is_dir = check_writable(dir_.string());
    ASSERT_TRUE(is_dir);
    EXPECT_NE(is_dir->find("directory"), std::string::npos) << *is_dir;
    EXPECT_TRUE(check_writable(dir_.string() + "/"));
    EXPECT_TRUE(check_writable(""));

    auto not_dir = check_writable((existing / "x").string());
    ASSERT_TRUE(not_dir);
    EXPECT_NE(not_dir->find("not a directory"), std::string::npos) << *not_dir;

    // "/dev/null" would be replaced, not written to.
    EXPECT_TRUE(check_writable("/dev/null"));
    auto to_device = dir_ / "to-null";
    fs::create_symlink("/dev/null", to_device);
    EXPECT_TRUE(check_writable(to_device.string()));

    EXPECT_EQ(entries(), 3u) << "check_writable creates nothing";
}

TEST_F(ReportFile, CheckWritableReadOnlyDirectory) {
    auto ro = dir_ / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                            fs::perms::others_exec);
    fs::permissions(dir_, fs::perms::others_exec, fs::perm_options::add);
    // Root may write into a mode 0555 directory: then ask as nobody, in a child.
    auto check = [&] { return check_writable((ro / "report.json").string()); };
    std::optional<std::string> why;
    if (::geteuid() == 0) {
        pid_t pid = ::fork();
        if (pid == 0) {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0)
                ::_exit(2);
            auto w = check();
            ::_exit(w && w->find("not writable") != std::string::npos ? 0 : 1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        fs::permissions(ro, fs::perms::owner_all);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "as nobody, the directory must be found not writable";
        return;
    }
    why = check();
    fs::permissions(ro, fs::perms::owner_all);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("not writable"), std::string::npos) << *why;
}

} // namespace
} // namespace freezeprobe
