// What freezeprobe must not do as root on a node: listen beyond loopback unless told to, write
// through a link planted at a report path, leave its reports readable by everyone when they
// should not be, or carry a way to run a shell.
#include "probe_harness.h"
#include "subprocess.h"

#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;

struct Listener {
    std::string local; // "0100007F:2379"
    std::uint64_t inode = 0;
};

// The listening TCP sockets of a network namespace, from /proc/PID/net/tcp{,6}.
std::vector<Listener> listeners(pid_t pid) {
    std::vector<Listener> out;
    for (const char *file : {"tcp", "tcp6"}) {
        std::istringstream in(read_file(fmt::format("/proc/{}/net/{}", pid, file)));
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string slot, local, remote, state, queues, timer, retr, uid, timeout;
            std::uint64_t inode = 0;
            f >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
                inode;
            if (state == "0A") // TCP_LISTEN
                out.push_back({local, inode});
        }
    }
    return out;
}

// The socket inodes a process holds.
std::set<std::uint64_t> socket_inodes(pid_t pid) {
    std::set<std::uint64_t> out;
    std::error_code ec;
    for (auto &fd : fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
        auto target = fs::read_symlink(fd.path(), ec).string();
        if (target.starts_with("socket:["))
            out.insert(std::stoull(target.substr(8)));
    }
    return out;
}

TEST(Security, MetricsListenOnLoopbackUnlessToldOtherwise) {
    REQUIRE_PRIVILEGES();
    for (std::string address : {":0", "localhost:0"}) {
        SCOPED_TRACE(address);
        RunningProcess probe({freezeprobe_binary(), "--events", "none", "--metrics", address});
        ASSERT_TRUE(probe.wait_for_stderr("/metrics", 10'000)) << probe.err();
        std::smatch m;
        auto err = probe.err();
        ASSERT_TRUE(std::regex_search(err, m, std::regex("http://127\\.0\\.0\\.1:(\\d+)/metrics")))
            << err;
        auto port = std::stoi(m[1]);
        // The kernel's view of the socket the process holds, not what it says about it.
        auto mine = socket_inodes(probe.pid());
        int found = 0;
        for (auto &l : listeners(probe.pid())) {
            if (!mine.contains(l.inode))
                continue;
            ++found;
            EXPECT_EQ(l.local, fmt::format("0100007F:{:04X}", port)) << "bound beyond loopback";
        }
        EXPECT_EQ(found, 1);
        EXPECT_EQ(probe.stop(SIGTERM).exit_code, 0);
    }
}

class ReportFilesTest : public ::testing::Test {
  protected:
    void SetUp() override { REQUIRE_PRIVILEGES(); }
    ProcessResult run(const std::function<void()> &before_exec = {}) {
        return run_process({freezeprobe_binary(), "--events", "none", "--duration", "0.3",
                            "--report", (dir_ / "report.json").string(), "--junit",
                            (dir_ / "junit.xml").string(), "--metrics-file",
                            (dir_ / "freezeprobe.prom").string()},
                           before_exec);
    }
    static mode_t mode_of(const fs::path &p) {
        struct stat st {};
        EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
        return st.st_mode;
    }

    ScratchDir dir_{"report-files"};
};

// The report names cgroups, containers, commands and their diagnosis: readable by its owner only.
// JUnit and the metrics are read by other users (a CI uploader, node_exporter): 0644, never
// writable by others. Whatever the umask.
TEST_F(ReportFilesTest, ModesAreExactWhateverTheUmask) {
    for (mode_t umask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
        SCOPED_TRACE(umask);
        auto r = run([umask] { ::umask(umask); });
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(mode_of(dir_ / "report.json"), S_IFREG | 0600);
        EXPECT_EQ(mode_of(dir_ / "junit.xml"), S_IFREG | 0644);
        EXPECT_EQ(mode_of(dir_ / "freezeprobe.prom"), S_IFREG | 0644);
    }
}

// A link planted at each path (by someone who can write the directory) must be replaced, not
// followed: the file it points at stays as it was, and no file appears where a dangling one points.
TEST_F(ReportFilesTest, PlantedLinksAreReplacedNeverFollowed) {
    auto victim = dir_ / "victim";
    std::ofstream(victim) << "precious\n";
    fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
    auto victim_mtime = fs::last_write_time(victim);
    fs::create_symlink(victim, dir_ / "report.json");
    fs::create_symlink(victim, dir_ / "junit.xml");
    fs::create_symlink(dir_ / "created-through-link", dir_ / "freezeprobe.prom");

    auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(victim.string()), "precious\n");
    EXPECT_EQ(mode_of(victim), S_IFREG | 0600);
    EXPECT_EQ(fs::last_write_time(victim), victim_mtime);
    EXPECT_FALSE(fs::exists(dir_ / "created-through-link"));
    for (auto name : {"report.json", "junit.xml", "freezeprobe.prom"}) {
        EXPECT_TRUE(S_ISREG(mode_of(dir_ / name))) << name << " is still a link";
        EXPECT_FALSE(read_file((dir_ / name).string()).empty()) << name;
    }
    EXPECT_NO_THROW(nlohmann::json::parse(read_file((dir_ / "report.json").string())));
    // Nothing else was left in the directory (no temporary file).
    std::size_t entries = 0;
    for ([[maybe_unused]] auto &e : fs::directory_iterator(dir_.path()))
        ++entries;
    EXPECT_EQ(entries, 4u);
}

// The binary cannot start a shell: neither system() nor popen() is linked in (it is static, so
// what it does not call is not there). `watch -- COMMAND` runs the user's own argv with execvp,
// and the demo runs runc by absolute path with a fixed argv; neither passes a string from the
// kernel or the cgroup tree to a shell.
// The instrumented build's binary holds the sanitizer runtime, whose interceptors define popen and
// system; the check is of the binary that ships, the release build's, which that build names.
TEST(Security, BinaryLinksNoShellLauncher) {
#ifdef FREEZEPROBE_RELEASE_BINARY
    const std::string binary = FREEZEPROBE_RELEASE_BINARY;
#else
    const std::string binary = freezeprobe_binary();
#endif
    auto r = run_process({"/usr/bin/nm", binary});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> symbols;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        auto name = line.substr(line.rfind(' ') + 1);
        symbols.insert(name.substr(0, name.find('@'))); // "execvp@GLIBC_2.2.5" when dynamic
    }
    ASSERT_TRUE(symbols.contains("main")) << "no symbol table to check";
    ASSERT_TRUE(symbols.contains("execvp")) << "the wrapped command's launcher";
    for (auto name : {"system", "__libc_system", "popen", "_IO_popen"})
        EXPECT_FALSE(symbols.contains(name)) << name << " is linked in";
}

} // namespace
} // namespace freezeprobe::testing
