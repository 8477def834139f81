// `freezeprobe watch [options] -- COMMAND` as a CI job runs it: the command's exit status, the
// --fail-on exit code 3, and the report and JUnit files that explain a freeze failure without
// reading logs. The binary is run as a child process, as a user would. The freezes are made in the
// freezer the layout has (CgroupTest::freezer(): the v1 freezer where it is mounted, else cgroup
// v2), so that every layout runs them.
#include "probe_harness.h"
#include "subprocess.h"

#include "hang_fuse.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;

// A shell command that freezes (or thaws) cg, and one that reads its state as runc does (v1:
// freezer.state, whose read is what moves a v1 cgroup on to FROZEN; v2: cgroup.events).
std::string freeze_cmd(const ScratchCgroup &cg, bool freeze) {
    return fmt::format("echo {} > {}", cg.freeze_value(freeze), cg.freeze_file());
}
std::string read_state_cmd(const ScratchCgroup &cg) {
    return "cat " + cg.file(cg.version() == 1 ? "freezer.state" : "cgroup.events");
}

class WatchOutputsTest : public CgroupTest {
  protected:
    void SetUp() override {
        CgroupTest::SetUp();
        if (stopped())
            return;
        dir_ = fs::path(::testing::TempDir()) / ("watch-outputs-" + random_hex(8));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty())
            fs::remove_all(dir_);
    }
    // freezeprobe watch with reports under dir_, wrapping argv.
    ProcessResult watch(std::vector<std::string> options, std::vector<std::string> argv) {
        std::vector<std::string> all{freezeprobe_binary(),
                                     "watch",
                                     "--events",
                                     "none",
                                     "--cgroup",
                                     prefix_,
                                     "--report",
                                     (dir_ / "report.json").string(),
                                     "--junit",
                                     (dir_ / "junit_freezeprobe.xml").string()};
        for (auto &arg : test_attach_args())
            all.push_back(arg);
        all.insert(all.end(), options.begin(), options.end());
        all.push_back("--");
        all.insert(all.end(), argv.begin(), argv.end());
        return run_process(all);
    }
    nlohmann::json report() {
        return nlohmann::json::parse(read_file((dir_ / "report.json").string()));
    }
    std::string junit() { return read_file((dir_ / "junit_freezeprobe.xml").string()); }
    void expect_valid_xml() {
        auto r =
            run_process({"/usr/bin/xmllint", "--noout", (dir_ / "junit_freezeprobe.xml").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }

    fs::path dir_;
};

TEST_F(WatchOutputsTest, CommandSucceedsAndReportsDescribeIt) {
    auto id = random_hex(64);
    ScratchCgroup cg(freezer(), prefix_ + "/kubepods/burstable/pod" + random_uuid() + "/" + id);
    auto r = watch(
        {}, {"/bin/sh", "-c",
             freeze_cmd(cg, true) + "; " + read_state_cmd(cg) + "; " + freeze_cmd(cg, false)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = report();
    if (auto mode = test_attach_mode()) {
        EXPECT_EQ(j["attach_mode"], to_string(*mode));
        EXPECT_TRUE(j["attach_refused"].empty()) << "a forced mode refuses no other";
    }
    EXPECT_TRUE(parse_attach_mode(j["attach_mode"].get<std::string>())) << j["attach_mode"];
    // Every better mode that auto passed over is named with its reason.
    for (auto &[mode, reason] : j["attach_refused"].items()) {
        ASSERT_TRUE(parse_attach_mode(mode)) << mode;
        EXPECT_LT(*parse_attach_mode(mode),
                  *parse_attach_mode(j["attach_mode"].get<std::string>()));
        EXPECT_FALSE(reason.get<std::string>().empty()) << mode;
    }
    EXPECT_EQ(j["events_lost"], 0);
    ASSERT_EQ(j["containers"].size(), 1u) << j.dump(2);
    auto &c = j["containers"][0];
    EXPECT_EQ(c["container"]["id"], id);
    EXPECT_EQ(c["episodes"]["frozen"], 1);
    EXPECT_EQ(c["episodes"]["thawed"], 1);
    auto &file = c["files"][freeze_file_name(cg.version())];
    EXPECT_EQ(file["count"], 2) << c.dump(2);
    EXPECT_GT(file["latency_ns"]["max"].get<std::uint64_t>(), 0u);
    expect_valid_xml();
    EXPECT_NE(junit().find(id), std::string::npos);
    EXPECT_EQ(junit().find("<failure"), std::string::npos) << junit();
}

TEST_F(WatchOutputsTest, CommandStatusIsPassedOn) {
    auto r = watch({"--fail-on", "write-error"}, {"/bin/sh", "-c", "exit 5"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    auto missing = watch({}, {"/no/such/command"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("/no/such/command"), std::string::npos) << missing.err;
}

TEST_F(WatchOutputsTest, FailedWriteFailsTheRunWithFailOn) {
    ScratchCgroup cg(freezer(), prefix_ + "/bad");
    // Not a state (v1) nor an integer (v2): EINVAL in both.
    auto cmd =
        std::vector<std::string>{"/bin/sh", "-c", "echo BOGUS > " + cg.freeze_file() + " || true"};
    auto plain = watch({}, cmd);
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    auto strict = watch({"--fail-on", "aborted,write-error"}, cmd);
    EXPECT_EQ(strict.exit_code, 3) << strict.err;
    EXPECT_NE(strict.err.find("write-error (1)"), std::string::npos) << strict.err;
    expect_valid_xml();
    EXPECT_NE(junit().find("<failure"), std::string::npos);
    EXPECT_NE(junit().find("EINVAL"), std::string::npos) << junit();
}

// The CI story end to end: a freeze held up by a FUSE read and given up, as runc does; the JUnit
// failure explains it.
TEST_F(WatchOutputsTest, AbortedFreezeIsExplainedInJUnit) {
    ScratchCgroup cg(freezer(),
                     prefix_ + "/kubepods/burstable/pod" + random_uuid() + "/" + random_hex(64));
    HeldReader held(cg);
    auto r = watch({"--fail-on", "aborted", "--stall-after", "200"},
                   {"/bin/sh", "-c",
                    freeze_cmd(cg, true) + "; sleep 0.6; " + read_state_cmd(cg) + "; " +
                        freeze_cmd(cg, false) + "; sleep 0.4"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    expect_valid_xml();
    auto xml = junit();
    std::cout << "JUnit:\n" << xml << "\n";
    EXPECT_NE(xml.find("type=\"aborted\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("type=\"stall\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("request_wait_answer"), std::string::npos) << xml;
    // The blocker's cause, with the FUSE daemon (this process) named.
    EXPECT_NE(xml.find("waiting for a FUSE daemon to answer"), std::string::npos) << xml;
    EXPECT_NE(xml.find("served by pid " + std::to_string(::getpid())), std::string::npos) << xml;
    auto j = report();
    ASSERT_EQ(j["containers"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["containers"][0]["episodes"]["aborted"], 1);
    EXPECT_EQ(j["containers"][0]["stalls"], 1);
    held.fuse().abort_connection();
}

TEST_F(WatchOutputsTest, AFreezeNeverThawedIsHeldAndFailsTheRun) {
    ScratchCgroup cg(freezer(),
                     prefix_ + "/kubepods/burstable/pod" + random_uuid() + "/" + random_hex(64));
    ThawGuard thaw(cg);
    auto r = watch({"--fail-on", "held", "--held-after", "1"},
                   {"/bin/sh", "-c", freeze_cmd(cg, true) + "; sleep 1.8"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("--fail-on conditions hit: held (1)"), std::string::npos) << r.err;
    auto j = report();
    ASSERT_EQ(j["containers"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["containers"][0]["held"], 1);
    expect_valid_xml();
    auto xml = junit();
    EXPECT_NE(xml.find("type=\"held\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("nobody thawed it"), std::string::npos) << xml;

    // Thawed within --held-after: nothing held, exit 0.
    auto quick = watch({"--fail-on", "held", "--held-after", "1"},
                       {"/bin/sh", "-c",
                        freeze_cmd(cg, true) + "; " + read_state_cmd(cg) + "; " +
                            freeze_cmd(cg, false) + "; sleep 1.5"});
    EXPECT_EQ(quick.exit_code, 0) << quick.err;
}

TEST_F(WatchOutputsTest, BadOutputsAreRefusedBeforeAttaching) {
    auto r = run_process(
        {freezeprobe_binary(), "--report", "/no/such/dir/report.json", "--duration", "1"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--report"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("attached"), std::string::npos) << "refused before attaching";

    // A port that is taken.
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(s, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(s, reinterpret_cast<sockaddr *>(&addr), &len);
    auto port = std::to_string(ntohs(addr.sin_port));
    auto busy =
        run_process({freezeprobe_binary(), "--metrics", "127.0.0.1:" + port, "--duration", "1"});
    ::close(s);
    EXPECT_EQ(busy.exit_code, 1) << busy.err;
    EXPECT_NE(busy.err.find("--metrics"), std::string::npos) << busy.err;
    EXPECT_EQ(busy.err.find("attached"), std::string::npos);
    EXPECT_EQ(std::count(busy.err.begin(), busy.err.end(), '\n'), 1) << busy.err;
}

TEST_F(WatchOutputsTest, MetricsFileIsWritten) {
    auto metrics = dir_ / "freezeprobe.prom";
    auto r = run_process({freezeprobe_binary(), "--events", "none", "--duration", "0.5",
                          "--metrics-file", metrics.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto text = read_file(metrics.string());
    EXPECT_NE(text.find("freezeprobe_events_lost_total 0"), std::string::npos) << text;
    EXPECT_EQ(fs::status(metrics).permissions() & fs::perms::others_read, fs::perms::others_read);
}

} // namespace
} // namespace freezeprobe::testing
