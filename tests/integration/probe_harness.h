// Shared set-up for the privileged integration tests: the real probe attached to the real kernel,
// scratch cgroups named like kubelet containers in the v1 freezer and in cgroup v2, and a way to
// wait for the events a test caused. Under CI=true a test that lacks root fails; elsewhere it
// skips.
#pragma once

#include "cgroup_hierarchies.h"
#include "event_model.h"
#include "probe_session.h"
#include "runc_container.h"
#include "scratch.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace freezeprobe::testing {

// Empty when this process may attach BPF and write cgroups; else the reason.
std::optional<std::string> missing_privileges();
bool running_in_ci();

// Use at the start of SetUp() or a TEST body.
#define REQUIRE_PRIVILEGES()                                                                       \
    do {                                                                                           \
        if (auto why = ::freezeprobe::testing::missing_privileges()) {                             \
            if (::freezeprobe::testing::running_in_ci())                                           \
                FAIL() << "privileged test cannot run under CI=true: " << *why;                    \
            GTEST_SKIP() << "needs root: " << *why;                                                \
        }                                                                                          \
    } while (0)

// Use at the start of a test that drives runc; a missing runc fails under CI=true.
#define REQUIRE_RUNC()                                                                             \
    do {                                                                                           \
        if (!::freezeprobe::find_runc()) {                                                         \
            if (::freezeprobe::testing::running_in_ci())                                           \
                FAIL() << "runc is not installed (tools/setup.sh installs it)";                    \
            GTEST_SKIP() << "runc is not installed (tools/setup.sh installs it)";                  \
        }                                                                                          \
    } while (0)

// The cgroup layout this process sees, from its mountinfo: "v2" (cgroup2 at /sys/fs/cgroup),
// "hybrid" (v1 controllers and a cgroup2 mount elsewhere), "v1" (no cgroup2 mount) or "none".
std::string cgroup_layout(const std::vector<Hierarchy> &hierarchies);

// Use at the start of a test that needs the v1 freezer (hierarchy: a const Hierarchy *, null when
// not mounted) or cgroup v2. A layout without it (tools/layout.sh makes each one in a private
// mount namespace) truly lacks the feature: the test is skipped with the layout in the reason,
// also under CI=true; the layout.* ctest entries list every such skip.
#define REQUIRE_HIERARCHY(hierarchy, what)                                                         \
    do {                                                                                           \
        if (!(hierarchy))                                                                          \
            GTEST_SKIP() << "layout "                                                              \
                         << ::freezeprobe::testing::cgroup_layout(                                 \
                                ::freezeprobe::discover_hierarchies())                             \
                         << " has no " << (what) << " mounted";                                    \
    } while (0)
#define REQUIRE_V1_FREEZER(hierarchy) REQUIRE_HIERARCHY(hierarchy, "v1 freezer hierarchy")
#define REQUIRE_V2(hierarchy) REQUIRE_HIERARCHY(hierarchy, "cgroup v2 hierarchy")

// The attach mode the tests use: FREEZEPROBE_TEST_ATTACH=fentry|kprobe|tracepoint|auto (default
// auto: nullopt). The VM runner runs the suite once per mode. An unknown value throws.
std::optional<AttachMode> test_attach_mode();
// The same choice as freezeprobe command-line arguments: {"--attach", MODE}.
std::vector<std::string> test_attach_args();

// A unique top-level scratch directory name for this test, e.g. "/freezeprobe-test-1234-7".
std::string unique_prefix();

// Polls pred every 10 ms until it holds (true) or timeout passes (false).
bool eventually(const std::function<bool()> &pred, std::chrono::milliseconds timeout);

// threads threads write value(thread) to file writes_per_thread times each, all at once; returns
// how many of the writes did not fail with EINVAL (tests that make the kernel refuse every write).
int refused_writes_at_once(const std::filesystem::path &file, int threads, int writes_per_thread,
                           const std::function<std::string(int thread)> &value);

// A new directory under the test's temporary directory, removed with its content at the end.
class ScratchDir {
  public:
    explicit ScratchDir(const std::string &name);
    ~ScratchDir();
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;
    const std::filesystem::path &path() const { return path_; }
    std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// A test on the host's cgroups: root (or a skip, a failure under CI=true), the v1 freezer and
// the v2 hierarchies (null when the layout has not mounted one: a test that needs one says so
// with REQUIRE_V1_FREEZER(v1_) / REQUIRE_V2(v2_)), and a prefix of its own to create under.
class CgroupTest : public ::testing::Test {
  protected:
    void SetUp() override;
    // Whether SetUp stopped the test (skipped, or failed): a derived SetUp returns then.
    bool stopped() const { return IsSkipped() || HasFatalFailure(); }

    const Hierarchy &v1() const { return *v1_; }
    const Hierarchy &v2() const { return *v2_; }
    // The v1 freezer and v2 hierarchies that this layout mounts (one or both): freezable()
    // (scratch.h) of hierarchies_.
    std::vector<const Hierarchy *> freezable() const;
    // The freezer of a test that needs one, whichever the layout has: the v1 freezer where the
    // layout mounts it (runc's freezer on a hybrid node), else cgroup v2.
    const Hierarchy &freezer() const { return *freezable().front(); }

    std::string prefix_;
    std::vector<Hierarchy> hierarchies_;
    const Hierarchy *v1_ = nullptr;
    const Hierarchy *v2_ = nullptr;
};

// A CgroupTest with a probe attached in the process, watching the test's prefix.
class ProbeTest : public CgroupTest {
  protected:
    void SetUp() override;
    // A test changes the session's options here (e.g. a shorter stall threshold).
    virtual void configure(SessionOptions &) {}
    void TearDown() override;

    // Polls the probe until pred holds for the events collected so far, or the timeout passes.
    bool wait_for(const std::function<bool(const std::vector<Event> &)> &pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Waits until at least n events have arrived.
    bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Collects for a fixed time (to prove that nothing else arrives).
    void collect_for(std::chrono::milliseconds duration);

    // kubelet cgroupfs-driver layout (v1) and systemd-driver layout (v2) under the test prefix.
    std::string v1_container_path(const std::string &pod_uid, const std::string &id) const;
    std::string v2_container_path(const std::string &pod_uid, const std::string &id) const;

    std::vector<Event> events_;
    std::unique_ptr<ProbeSession> session_;
};

// The events of one type, as their body type.
template <typename Body>
std::vector<std::pair<Event, Body>> of_type(const std::vector<Event> &all) {
    std::vector<std::pair<Event, Body>> out;
    for (auto &e : all)
        if (auto *b = std::get_if<Body>(&e.body))
            out.emplace_back(e, *b);
    return out;
}

} // namespace freezeprobe::testing
