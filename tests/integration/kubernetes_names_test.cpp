// Kubernetes names from the node's files with a real runtime: Debian's containerd, started by the
// test with its own state directory, runs containers with `ctr run` in kubelet's cgroupfs layout
// and with the annotations containerd's CRI plugin writes; kubelet's pod log directory is made as
// kubelet makes it. The probe reads them under --host-root (SessionOptions::host_root).
#include "containerd_daemon.h"
#include "hang_fuse.h"
#include "probe_harness.h"

#include <csignal>
#include <fstream>
#include <future>
#include <thread>
#include <iostream>
#include <system_error>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Removes what runc made under the test's prefix in every hierarchy, deepest first (rmdir only:
// a cgroup with a task left in it stays, and the leftover check says so).
void remove_cgroup_tree(const fs::path &top) {
    std::error_code ec;
    if (!fs::is_directory(top, ec))
        return;
    std::vector<fs::path> dirs{top};
    for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::end(it);
         it.increment(ec))
        if (it->is_directory(ec))
            dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(),
              [](auto &a, auto &b) { return a.native().size() > b.native().size(); });
    for (auto &d : dirs)
        ::rmdir(d.c_str());
}

// A probe that reads the node's files under a scratch directory (--host-root), which the test
// lays out as a node has them; runc is required.
class HostRootTest : public ProbeTest {
  protected:
    void configure(SessionOptions &options) override {
        host_root_ = std::make_unique<ScratchDir>("host");
        options.host_root = host_root_->path().string();
    }
    void SetUp() override {
        ProbeTest::SetUp();
        if (stopped())
            return;
        REQUIRE_RUNC();
    }
    void TearDown() override {
        ProbeTest::TearDown();
        host_root_.reset();
    }
    std::unique_ptr<ScratchDir> host_root_;
};

class KubernetesNamesTest : public HostRootTest {
  protected:
    void SetUp() override {
        HostRootTest::SetUp();
        if (stopped())
            return;
        if (!containerd_installed()) {
            if (running_in_ci())
                FAIL() << "containerd is not installed (tools/setup.sh installs it)";
            GTEST_SKIP() << "containerd is not installed (tools/setup.sh installs it)";
        }
        try {
            containerd_ = std::make_unique<ContainerdDaemon>(host_root_->path());
            containerd_->import_busybox();
        } catch (const std::exception &e) {
            FAIL() << "containerd set-up: " << e.what() << "\ncontainerd log:\n"
                   << (containerd_ ? containerd_->log() : "");
        }
    }
    void TearDown() override {
        containerd_.reset();
        for (auto &h : hierarchies_)
            remove_cgroup_tree(fs::path(h.mount_point) / prefix_.substr(1));
        HostRootTest::TearDown();
    }
    // kubelet makes /var/log/pods/<namespace>_<pod>_<uid> before it asks for the sandbox.
    void make_pod_log_dir(const std::string &ns, const std::string &pod, const std::string &uid) {
        fs::create_directories(host_root_->path() / "var/log/pods" / (ns + "_" + pod + "_" + uid));
    }
    // The annotations containerd's CRI plugin puts on a container of a pod.
    static std::vector<std::pair<std::string, std::string>>
    cri_annotations(const std::string &type, const std::optional<std::string> &name,
                    const std::string &pod, const std::string &ns, const std::string &uid) {
        std::vector<std::pair<std::string, std::string>> a{
            {"io.kubernetes.cri.container-type", type},
            {"io.kubernetes.cri.sandbox-name", pod},
            {"io.kubernetes.cri.sandbox-namespace", ns},
            {"io.kubernetes.cri.sandbox-uid", uid}};
        if (name)
            a.emplace_back("io.kubernetes.cri.container-name", *name);
        return a;
    }
    void expect_names(const std::optional<Container> &c, const std::string &id,
                      std::optional<std::string> ns, std::optional<std::string> pod,
                      std::optional<std::string> name, std::optional<bool> sandbox) {
        ASSERT_TRUE(c);
        EXPECT_EQ(c->id, id);
        EXPECT_EQ(c->namespace_name, ns);
        EXPECT_EQ(c->pod_name, pod);
        EXPECT_EQ(c->name, name);
        EXPECT_EQ(c->sandbox, sandbox);
    }

    std::unique_ptr<ContainerdDaemon> containerd_;
};

// `ctr task pause` of a container whose process is blocked in a FUSE read: runc's v1 loop gives
// up, and the aborted episode names the namespace, the pod and the container, as do its blocker
// and every write event of the container.
TEST_F(KubernetesNamesTest, PauseHeldByFuseIsAbortedWithPodAndContainerNames) {
    REQUIRE_V1_FREEZER(v1_); // runc's v1 loop; on v2 runc waits 10 s and leaves it freezing
    auto id = random_hex(64), uid = random_uuid();
    make_pod_log_dir("shop", "web-0", uid);
    HangFuse fuse;
    containerd_->run(id, v1_container_path(uid, id),
                     cri_annotations("container", "app", "web-0", "shop", uid),
                     {"type=bind,src=" + fuse.mount_point() + ",dst=/hang,options=rbind:ro"},
                     {"/bin/cat", "/hang/hang"});
    // Before the FUSE mount goes: the read is released, then the container deleted.
    struct Release {
        HangFuse &fuse;
        ContainerdDaemon &containerd;
        std::string id;
        ~Release() {
            fuse.abort_connection();
            containerd.remove(id);
        }
    } release{fuse, *containerd_, id};
    ASSERT_TRUE(fs::exists(containerd_->bundle(id) + "/config.json"));
    ASSERT_TRUE(fuse.wait_for_held_reads(1, 10s));

    auto pausing = std::async(std::launch::async, [&] {
        return containerd_->ctr({"task", "pause", id});
    });
    wait_for([&](auto &) { return pausing.wait_for(0s) == std::future_status::ready; }, 60s);
    auto paused = pausing.get();
    EXPECT_NE(paused.exit_code, 0) << "the pause cannot succeed while the read is held";

    ASSERT_TRUE(wait_for([](auto &ev) { return !of_type<FreezeEpisode>(ev).empty(); }, 10s));
    auto [event, episode] = of_type<FreezeEpisode>(events_)[0];
    std::cout << "ctr said: " << paused.err << "freezeprobe said: " << episode.diagnosis << "\n";
    EXPECT_EQ(episode.outcome, EpisodeOutcome::aborted);
    ASSERT_TRUE(event.cgroup);
    expect_names(event.cgroup->container, id, "shop", "web-0", "app", false);
    EXPECT_EQ(event.cgroup->container->pod_uid, uid);
    EXPECT_NE(episode.diagnosis.find("container shop/web-0/app"), std::string::npos)
        << episode.diagnosis;
    ASSERT_FALSE(episode.blockers.empty()) << episode.diagnosis;
    EXPECT_EQ(episode.blockers[0].comm, "cat");
    expect_names(episode.blockers[0].container, id, "shop", "web-0", "app", false);
    auto writes = of_type<FreezeWrite>(events_);
    ASSERT_FALSE(writes.empty());
    for (auto &[e, w] : writes)
        expect_names(e.cgroup->container, id, "shop", "web-0", "app", false);
}

// A pod sandbox: its bundle says "sandbox" and has no container name; the pod's names come from
// the log directory. A container of a pod with neither log directory nor annotations (ctr run
// by hand into kubelet's layout) keeps every name null, while its pod UID still comes from the
// cgroup path.
TEST_F(KubernetesNamesTest, SandboxAndUnknownStayApart) {
    auto sandbox = random_hex(64), uid = random_uuid();
    auto bare = random_hex(64), bare_uid = random_uuid();
    make_pod_log_dir("kube-system", "coredns-5d78c9869d-x7k2p", uid);
    containerd_->run(sandbox, v1_container_path(uid, sandbox),
                     {{"io.kubernetes.cri.container-type", "sandbox"}}, {}, {"/bin/sleep", "3600"});
    containerd_->run(bare, v1_container_path(bare_uid, bare), {}, {}, {"/bin/sleep", "3600"});
    for (auto &id : {sandbox, bare}) {
        auto r = containerd_->ctr({"task", "pause", id});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        r = containerd_->ctr({"task", "resume", id});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 4; }, 10s));
    int seen_sandbox = 0, seen_bare = 0;
    for (auto &[e, episode] : of_type<FreezeEpisode>(events_)) {
        ASSERT_TRUE(e.cgroup && e.cgroup->container);
        if (e.cgroup->container->id == sandbox) {
            ++seen_sandbox;
            expect_names(e.cgroup->container, sandbox, "kube-system", "coredns-5d78c9869d-x7k2p",
                         std::nullopt, true);
        } else {
            ++seen_bare;
            expect_names(e.cgroup->container, bare, std::nullopt, std::nullopt, std::nullopt,
                         std::nullopt);
            EXPECT_EQ(e.cgroup->container->pod_uid, bare_uid);
        }
    }
    EXPECT_EQ(seen_sandbox, 2);
    EXPECT_EQ(seen_bare, 2);
}

// The binary, in every output: JSON lines, text lines, JUnit and the metrics file name the
// container, and --namespace / --pod keep out the containers of another pod.
TEST_F(KubernetesNamesTest, EveryOutputOfTheBinaryNamesTheContainer) {
    auto id = random_hex(64), uid = random_uuid();
    auto other = random_hex(64), other_uid = random_uuid();
    make_pod_log_dir("shop", "web-0", uid);
    make_pod_log_dir("other", "db-0", other_uid);
    auto out = host_root_->path() / "out";
    fs::create_directories(out);
    auto junit = out / "junit.xml", metrics = out / "m.prom";
    auto root = host_root_->path().string();
    RunningProcess json({freezeprobe_binary(), "--events", "json", "--host-root", root, "--cgroup",
                         prefix_, "--namespace", "shop", "--junit", junit.string(),
                         "--metrics-file", metrics.string()});
    RunningProcess text({freezeprobe_binary(), "--events", "text", "--host-root", root, "--cgroup",
                         prefix_, "--pod", "web-0"});
    ASSERT_TRUE(json.wait_for_stderr("attached", 10'000)) << json.err();
    ASSERT_TRUE(text.wait_for_stderr("attached", 10'000)) << text.err();
    containerd_->run(id, v1_container_path(uid, id),
                     cri_annotations("container", "app", "web-0", "shop", uid), {},
                     {"/bin/sleep", "3600"});
    containerd_->run(other, v1_container_path(other_uid, other),
                     cri_annotations("container", "pg", "db-0", "other", other_uid), {},
                     {"/bin/sleep", "3600"});
    for (auto &c : {id, other}) {
        ASSERT_EQ(containerd_->ctr({"task", "pause", c}).exit_code, 0);
        ASSERT_EQ(containerd_->ctr({"task", "resume", c}).exit_code, 0);
    }
    std::this_thread::sleep_for(500ms);
    auto rj = json.stop(SIGINT);
    auto rt = text.stop(SIGINT);
    ASSERT_EQ(rj.exit_code, 0) << rj.err;
    ASSERT_EQ(rt.exit_code, 0) << rt.err;

    std::vector<nlohmann::json> lines;
    ASSERT_NO_THROW(lines = json_lines(rj.out)) << rj.out;
    int episodes = 0;
    for (auto &j : lines) {
        if (j["container"].is_null())
            continue;
        EXPECT_EQ(j["container"]["id"], id) << "--namespace shop shows only shop's container";
        EXPECT_EQ(j["container"]["namespace"], "shop");
        EXPECT_EQ(j["container"]["pod_name"], "web-0");
        EXPECT_EQ(j["container"]["name"], "app");
        EXPECT_EQ(j["container"]["sandbox"], false);
        episodes += j["type"] == "freeze_episode";
    }
    EXPECT_GE(episodes, 2) << rj.out;
    EXPECT_NE(rt.out.find("container shop/web-0/app ("), std::string::npos) << rt.out;
    // The other pod's names as printed (a bare "db-0" also matches a random UUID, "63db-00ce").
    EXPECT_EQ(rt.out.find("other/db-0"), std::string::npos) << rt.out;
    EXPECT_EQ(rt.out.find(other.substr(0, 12)), std::string::npos) << rt.out;
    auto junit_text = read_file(junit.string()), metrics_text = read_file(metrics.string());
    EXPECT_NE(junit_text.find("name=\"shop/web-0/app"), std::string::npos) << junit_text;
    EXPECT_NE(metrics_text.find("namespace=\"shop\",pod=\"web-0\",container=\"app\""),
              std::string::npos)
        << metrics_text;
    EXPECT_EQ(metrics_text.find("pod=\"db-0\""), std::string::npos) << metrics_text;
}

// CRI-O's layout, with runc run by the test: the bundle in
// /run/containers/storage/overlay-containers/<id>/userdata, the annotations CRI-O writes (kubelet's
// labels and its own container type), the cgroupfs driver's crio-<id> cgroup. There is no pod log
// directory, so the pod's names come from the bundle.
using CrioNamesTest = HostRootTest;

TEST_F(CrioNamesTest, PauseAndResumeCarryTheBundlesNames) {
    auto id = random_hex(64), uid = random_uuid();
    RuncContainerSpec spec;
    spec.id = id;
    spec.cgroups_path = prefix_ + "/kubepods/besteffort/pod" + uid + "/crio-" + id;
    spec.bundle_dir =
        (host_root_->path() / "run/containers/storage/overlay-containers" / id / "userdata")
            .string();
    spec.annotations = {{"io.kubernetes.cri-o.ContainerType", "container"},
                        {"io.kubernetes.container.name", "worker"},
                        {"io.kubernetes.pod.name", "batch-7"},
                        {"io.kubernetes.pod.namespace", "jobs"},
                        {"io.kubernetes.pod.uid", uid}};
    RuncContainer container(spec);
    ASSERT_EQ(container.pause().exit_code, 0);
    ASSERT_EQ(container.resume().exit_code, 0);
    ASSERT_TRUE(wait_for([](auto &ev) { return of_type<FreezeEpisode>(ev).size() >= 2; }, 10s));
    for (auto &[e, episode] : of_type<FreezeEpisode>(events_)) {
        ASSERT_TRUE(e.cgroup && e.cgroup->container);
        auto &c = *e.cgroup->container;
        EXPECT_EQ(c.id, id);
        EXPECT_EQ(c.runtime, "crio");
        EXPECT_EQ(c.pod_uid, uid);
        EXPECT_EQ(c.namespace_name, "jobs");
        EXPECT_EQ(c.pod_name, "batch-7");
        EXPECT_EQ(c.name, "worker");
        EXPECT_EQ(c.sandbox, false);
        EXPECT_NE(episode.diagnosis.find("jobs/batch-7/worker"), std::string::npos)
            << episode.diagnosis;
    }
}

} // namespace
} // namespace freezeprobe::testing
