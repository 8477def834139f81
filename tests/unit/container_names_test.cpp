// Kubernetes names from the node's files: the parsers on the texts the runtimes and kubelet
// write, and the cache on fake files with a fake clock.
#include "container_names.h"

#include <gtest/gtest.h>

#include <map>

namespace freezeprobe {
namespace {

const std::string id = "07334c479d36e2a1b9a4b7b3f3b6f4bd0d0b1f8d3b3c1f6c0a2e5c8e8c3c9a1f";
const std::string uid = "7f8de4bb-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

TEST(PodLogDir, ParsesKubeletsName) {
    EXPECT_EQ(parse_pod_log_dir("kube-system_coredns-5d78c9869d-abcde_" + uid),
              (PodLogDir{"kube-system", "coredns-5d78c9869d-abcde", uid}));
    EXPECT_EQ(parse_pod_log_dir("default_web.example.com_" + uid),
              (PodLogDir{"default", "web.example.com", uid}));
}

TEST(PodLogDir, RejectsOtherNames) {
    for (std::string name :
         std::vector<std::string>{"", "default", "default_web", "default_web_", "_web_" + uid,
                                  "default__" + uid, "a_b_c_d", "default_web_" + uid + "_x"})
        EXPECT_EQ(parse_pod_log_dir(name), std::nullopt) << name;
}

// What containerd's CRI plugin writes (internal/cri/annotations; container-type, names and
// uid of the sandbox on every container of the pod).
const std::string containerd_container = R"({"ociVersion":"1.1.0","process":{"args":["nginx"]},
 "annotations":{"io.kubernetes.cri.container-type":"container",
  "io.kubernetes.cri.container-name":"nginx",
  "io.kubernetes.cri.sandbox-id":"aa",
  "io.kubernetes.cri.sandbox-name":"web-0",
  "io.kubernetes.cri.sandbox-namespace":"shop",
  "io.kubernetes.cri.sandbox-uid":")" + uid +
                                         R"(",
  "io.kubernetes.cri.image-name":"nginx:1"}})";

const std::string containerd_sandbox = R"({"annotations":{
  "io.kubernetes.cri.container-type":"sandbox",
  "io.kubernetes.cri.sandbox-id":"aa",
  "io.kubernetes.cri.sandbox-name":"web-0",
  "io.kubernetes.cri.sandbox-namespace":"shop",
  "io.kubernetes.cri.sandbox-uid":")" + uid +
                                       R"("}})";

// CRI-O: kubelet's labels copied into the annotations, and its own container type.
const std::string crio_container = R"({"annotations":{
  "io.kubernetes.cri-o.ContainerType":"container",
  "io.kubernetes.container.name":"app",
  "io.kubernetes.pod.name":"batch-1",
  "io.kubernetes.pod.namespace":"jobs",
  "io.kubernetes.pod.uid":")" + uid +
                                   R"("}})";

TEST(BundleConfig, Containerd) {
    EXPECT_EQ(parse_bundle_config(containerd_container),
              (BundleNames{"nginx", "web-0", "shop", uid, false}));
    EXPECT_EQ(parse_bundle_config(containerd_sandbox),
              (BundleNames{std::nullopt, "web-0", "shop", uid, true}));
}

TEST(BundleConfig, Crio) {
    EXPECT_EQ(parse_bundle_config(crio_container),
              (BundleNames{"app", "batch-1", "jobs", uid, false}));
}

TEST(BundleConfig, NoKubernetesAnnotations) {
    EXPECT_EQ(parse_bundle_config(R"({"ociVersion":"1.1.0"})"), BundleNames{});
    EXPECT_EQ(parse_bundle_config(R"({"annotations":{"x":"y"}})"), BundleNames{});
    // Not strings, empty strings and unknown types are not names.
    EXPECT_EQ(parse_bundle_config(R"({"annotations":{"io.kubernetes.cri.container-name":7,
        "io.kubernetes.cri.sandbox-name":"","io.kubernetes.cri.container-type":"pod"}})"),
              BundleNames{});
    EXPECT_EQ(parse_bundle_config(R"({"annotations":[1]})"), BundleNames{});
}

TEST(BundleConfig, NotAnObject) {
    EXPECT_EQ(parse_bundle_config(""), std::nullopt);
    EXPECT_EQ(parse_bundle_config("[]"), std::nullopt);
    EXPECT_EQ(parse_bundle_config(R"({"annotations":)"), std::nullopt);
}

TEST(KubernetesName, OnlyWhenThePodIsKnown) {
    Container c;
    c.id = id;
    EXPECT_EQ(kubernetes_name(c), std::nullopt);
    c.namespace_name = "shop";
    EXPECT_EQ(kubernetes_name(c), std::nullopt);
    c.pod_name = "web-0";
    EXPECT_EQ(kubernetes_name(c), "shop/web-0/?");
    c.sandbox = true;
    EXPECT_EQ(kubernetes_name(c), "shop/web-0/<sandbox>");
    c.name = "nginx";
    c.sandbox = false;
    EXPECT_EQ(kubernetes_name(c), "shop/web-0/nginx");
}

class FakeFiles : public NodeFiles {
  public:
    std::map<std::string, std::string> files;
    std::map<std::string, std::vector<std::string>> dirs;
    int reads = 0, lists = 0;
    std::optional<std::string> read(const std::string &path) override {
        ++reads;
        auto it = files.find(path);
        return it == files.end() ? std::nullopt : std::optional(it->second);
    }
    std::vector<std::string> list(const std::string &dir) override {
        ++lists;
        auto it = dirs.find(dir);
        return it == dirs.end() ? std::vector<std::string>{} : it->second;
    }
};

const std::string containerd_bundle =
    "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + id + "/config.json";
const std::string crio_bundle =
    "/run/containers/storage/overlay-containers/" + id + "/userdata/config.json";

struct NamerTest : ::testing::Test {
    FakeFiles *files = new FakeFiles;
    std::uint64_t now = 1'000'000'000;
    ContainerNamer namer{std::unique_ptr<NodeFiles>(files), [this] { return now; },
                         ContainerNamer::Limits{3, 500'000'000, 4'000'000'000}};

    Container kube(std::optional<std::string> runtime = "containerd",
                   std::optional<std::string> pod_uid = uid, std::string cid = id) {
        Container c;
        c.id = cid;
        c.runtime = std::move(runtime);
        c.pod_uid = std::move(pod_uid);
        c.qos = "besteffort";
        return c;
    }
};

TEST_F(NamerTest, NamesFromLogDirAndBundleThenCached) {
    files->dirs["/var/log/pods"] = {"other_x_" + std::string(36, 'a'), "shop_web-0_" + uid};
    files->files[containerd_bundle] = containerd_container;
    auto c = kube();
    namer.name(c);
    EXPECT_EQ(c.name, "nginx");
    EXPECT_EQ(c.pod_name, "web-0");
    EXPECT_EQ(c.namespace_name, "shop");
    EXPECT_EQ(c.sandbox, false);
    EXPECT_EQ(namer.lookups(), 1u);
    int reads = files->reads, lists = files->lists;
    for (int i = 0; i < 100; ++i) {
        auto again = kube();
        now += 10'000'000'000;
        namer.name(again);
        EXPECT_EQ(again, c);
    }
    EXPECT_EQ(files->reads, reads) << "a complete entry is never read again";
    EXPECT_EQ(files->lists, lists);
    EXPECT_EQ(namer.lookups(), 1u);
}

TEST_F(NamerTest, LogDirWinsForThePodAndTheBundleNamesTheContainer) {
    files->dirs["/var/log/pods"] = {"shop_web-0-renamed_" + uid};
    files->files[containerd_bundle] = containerd_container;
    auto c = kube();
    namer.name(c);
    EXPECT_EQ(c.pod_name, "web-0-renamed");
    EXPECT_EQ(c.name, "nginx");
}

TEST_F(NamerTest, CrioBundleAndUnknownRuntime) {
    files->files[crio_bundle] = crio_container;
    auto c = kube(std::nullopt, std::nullopt); // a bare id under a cgroup that says nothing
    namer.name(c);
    EXPECT_EQ(c.name, "app");
    EXPECT_EQ(c.pod_name, "batch-1");
    EXPECT_EQ(c.namespace_name, "jobs");
    EXPECT_EQ(c.pod_uid, uid) << "the bundle's pod UID when the path has none";
}

TEST_F(NamerTest, RuntimeSaysWhichBundle) {
    files->files[crio_bundle] = crio_container;
    auto c = kube("containerd");
    namer.name(c);
    EXPECT_EQ(c.name, std::nullopt) << "a containerd container's names are not CRI-O's";
}

TEST_F(NamerTest, MissRetriedWithBackOffThenFound) {
    auto c = kube();
    namer.name(c);
    EXPECT_EQ(c.name, std::nullopt);
    EXPECT_EQ(c.namespace_name, std::nullopt);
    EXPECT_EQ(namer.lookups(), 1u);
    // Before the first retry (0.5 s): from the cache, no read.
    now += 400'000'000;
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 1u);
    now += 100'000'000; // 0.5 s
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 2u);
    now += 900'000'000; // 1.4 s after; the next retry is 1 s after the second
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 2u);
    now += 100'000'000;
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 3u);
    // Back-off doubles to its cap (4 s): 2 s, then 4 s, 4 s.
    now += 2'000'000'000;
    namer.name(c);
    now += 4'000'000'000;
    namer.name(c);
    now += 4'000'000'000;
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 6u);
    // The files appear: the next due retry finds them, and then the entry stays.
    files->dirs["/var/log/pods"] = {"shop_web-0_" + uid};
    files->files[containerd_bundle] = containerd_container;
    now += 3'900'000'000;
    namer.name(c);
    EXPECT_EQ(c.name, std::nullopt) << "not due yet";
    now += 100'000'000;
    namer.name(c);
    EXPECT_EQ(c.name, "nginx");
    EXPECT_EQ(c.namespace_name, "shop");
    EXPECT_EQ(namer.lookups(), 7u);
    now += 100'000'000'000;
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 7u);
}

TEST_F(NamerTest, SandboxBeforeItsBundleHasPodNamesFromTheLogDir) {
    files->dirs["/var/log/pods"] = {"shop_web-0_" + uid};
    auto c = kube();
    namer.name(c);
    EXPECT_EQ(c.namespace_name, "shop");
    EXPECT_EQ(c.pod_name, "web-0");
    EXPECT_EQ(c.sandbox, std::nullopt) << "unknown until the bundle says";
    files->files[containerd_bundle] = containerd_sandbox;
    now += 500'000'000;
    namer.name(c);
    EXPECT_EQ(c.sandbox, true);
    EXPECT_EQ(c.name, std::nullopt);
}

TEST_F(NamerTest, DockerIsNotLookedUpAgain) {
    auto c = kube("docker", std::nullopt);
    namer.name(c);
    now += 100'000'000'000;
    namer.name(c);
    EXPECT_EQ(namer.lookups(), 1u);
    EXPECT_EQ(files->reads, 0) << "docker writes no such bundle";
}

TEST_F(NamerTest, BoundedOldestDropped) {
    files->files[containerd_bundle] = containerd_container;
    for (char k : std::string("abcd")) {
        auto c = kube("containerd", uid, std::string(64, k));
        namer.name(c);
    }
    EXPECT_EQ(namer.size(), 3u);
    EXPECT_EQ(namer.evictions(), 1u);
    // "a" was dropped: looked up again; "d" is cached.
    auto d = kube("containerd", uid, std::string(64, 'd'));
    auto before = namer.lookups();
    namer.name(d);
    EXPECT_EQ(namer.lookups(), before);
    auto a = kube("containerd", uid, std::string(64, 'a'));
    namer.name(a);
    EXPECT_EQ(namer.lookups(), before + 1);
}

TEST(HostFiles, ReadsUnderTheRoot) {
    char dir_template[] = "/tmp/freezeprobe-names-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    std::string root = dir_template;
    std::string pods = root + "/var/log/pods";
    ASSERT_EQ(std::system(("mkdir -p " + pods + "/shop_web-0_" + uid).c_str()), 0);
    ASSERT_EQ(std::system(("echo -n hello > " + root + "/var/log/f").c_str()), 0);
    auto files = host_files(root + "/");
    EXPECT_EQ(files->read("/var/log/f"), "hello");
    EXPECT_EQ(files->read("/var/log/none"), std::nullopt);
    EXPECT_EQ(files->list("/var/log/pods"), std::vector<std::string>{"shop_web-0_" + uid});
    EXPECT_TRUE(files->list("/nonexistent").empty());
    EXPECT_EQ(host_files("")->read(root + "/var/log/f"), "hello");
    ASSERT_EQ(std::system(("rm -rf " + root).c_str()), 0);
}

} // namespace
} // namespace freezeprobe
