#include "probe_harness.h"

#include "commands.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {

std::optional<std::string> missing_privileges() {
    if (::geteuid() != 0)
        return std::string("not running as root (euid ") + std::to_string(::geteuid()) + ")";
    return cannot_run_reason();
}

bool running_in_ci() {
    const char *ci = std::getenv("CI");
    return ci && std::string(ci) != "" && std::string(ci) != "false" && std::string(ci) != "0";
}

std::optional<AttachMode> test_attach_mode() {
    const char *text = std::getenv("FREEZEPROBE_TEST_ATTACH");
    if (!text || std::string_view(text).empty() || std::string_view(text) == "auto")
        return std::nullopt;
    if (auto mode = parse_attach_mode(text))
        return mode;
    throw std::invalid_argument(std::string("FREEZEPROBE_TEST_ATTACH=") + text +
                                ": not auto, fentry, kprobe or tracepoint");
}

std::vector<std::string> test_attach_args() {
    auto mode = test_attach_mode();
    return {"--attach", mode ? to_string(*mode) : "auto"};
}

std::string cgroup_layout(const std::vector<Hierarchy> &hierarchies) {
    const Hierarchy *v2 = find_v2(hierarchies);
    bool any_v1 = std::any_of(hierarchies.begin(), hierarchies.end(),
                              [](const Hierarchy &h) { return h.version == 1; });
    if (v2 && v2->mount_point == "/sys/fs/cgroup")
        return "v2";
    if (v2)
        return any_v1 ? "hybrid" : "v2 (at " + v2->mount_point + ")";
    return any_v1 ? "v1" : "none";
}

std::string unique_prefix() {
    static std::atomic<int> n{0};
    return fmt::format("/freezeprobe-test-{}-{}", ::getpid(), n++);
}

bool eventually(const std::function<bool()> &pred, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

int refused_writes_at_once(const std::filesystem::path &file, int threads, int writes_per_thread,
                           const std::function<std::string(int thread)> &value) {
    std::atomic<int> not_refused{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            auto bytes = value(t);
            for (int i = 0; i < writes_per_thread; ++i)
                if (write_control_file(file, bytes) != EINVAL)
                    ++not_refused;
        });
    for (auto &w : writers)
        w.join();
    return not_refused.load();
}

ScratchDir::ScratchDir(const std::string &name)
    : path_(std::filesystem::path(::testing::TempDir()) / (name + "-" + random_hex(8))) {
    std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void CgroupTest::SetUp() {
    REQUIRE_PRIVILEGES();
    prefix_ = unique_prefix();
    hierarchies_ = discover_hierarchies();
    v1_ = find_v1_controller(hierarchies_, "freezer");
    v2_ = find_v2(hierarchies_);
    ASSERT_TRUE(v1_ || v2_) << "neither a v1 freezer nor a cgroup v2 hierarchy is mounted";
}

std::vector<const Hierarchy *> CgroupTest::freezable() const {
    return freezeprobe::freezable(hierarchies_);
}

void ProbeTest::SetUp() {
    CgroupTest::SetUp();
    if (stopped())
        return;
    SessionOptions options;
    options.probe.mode = test_attach_mode();
    options.filter = EventFilter{prefix_, ""};
    configure(options);
    session_ =
        std::make_unique<ProbeSession>(options, [this](const Event &e) { events_.push_back(e); });
}

void ProbeTest::TearDown() {
    session_.reset();
}

bool ProbeTest::wait_for(const std::function<bool(const std::vector<Event> &)> &pred,
                         std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred(events_)) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        session_->poll(20);
    }
    return true;
}

bool ProbeTest::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    return wait_for([n](const std::vector<Event> &e) { return e.size() >= n; }, timeout);
}

void ProbeTest::collect_for(std::chrono::milliseconds duration) {
    auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until)
        session_->poll(20);
}

std::string ProbeTest::v1_container_path(const std::string &pod_uid, const std::string &id) const {
    return fmt::format("{}/kubepods/burstable/pod{}/{}", prefix_, pod_uid, id);
}

std::string ProbeTest::v2_container_path(const std::string &pod_uid, const std::string &id) const {
    auto underscored = pod_uid;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    return fmt::format("{0}/kubepods.slice/kubepods-burstable.slice/"
                       "kubepods-burstable-pod{1}.slice/cri-containerd-{2}.scope",
                       prefix_, underscored, id);
}

} // namespace freezeprobe::testing
