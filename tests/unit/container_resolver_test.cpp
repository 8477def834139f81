// Table of cgroup paths as runtimes and kubelet really create them, plus paths that must not
// be mistaken for a container. A wrong answer here becomes a wrong name in a freeze report.
#include "container_resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace freezeprobe {

// gtest would otherwise print a Container as raw bytes when a row fails.
void PrintTo(const Container &c, std::ostream *os) {
    auto opt = [](const std::optional<std::string> &s) { return s ? "\"" + *s + "\"" : "null"; };
    *os << "{id=" << c.id << " runtime=" << opt(c.runtime) << " pod_uid=" << opt(c.pod_uid)
        << " qos=" << opt(c.qos) << "}";
}

namespace {

// Container ids and pod UIDs as `docker ps --no-trunc` / `kubectl get pod -o yaml` print them.
const std::string id_a = "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
const std::string id_b = "a09834fd8a50cf02cbe408e82e3ff497e64233cbd087c8f3c0544efb2773c765";
const std::string id_c = "56a46feae3eecd73dcc9014f2830842e2ea8596c1b10aac21cb4ee82d314d8b7";
const std::string id_d = "3309884b1c56c223e23182c418b0ff0efd2d747a778bee717c96d4f5fbdb9ea9";
const std::string id_e = "2ed351b94ac4f21137ab551bce3683596e6a7380bda913bd25e71b11f262c038";
const std::string id_f = "184e0cabcb68f949c11ce5963b0198ea28e8cd808b9b91d8793e4c1803f25794";
const std::string id_g = "dbfe7327ee760a66c5ec1e686c735fa83a3c7d985cac29b4b532e4fa59b2b7c7";
const std::string id_h = "d961e318f57ca2c4801bee2371c223c05f15fb2ca8060d79e1d3a1982cb03d93";
const std::string uid_1 = "4164b8ac-667a-484c-9c8c-a16ddc6c0554";
const std::string uid_2 = "14da2cad-22f9-417e-ab68-cb3ea420bdc8";
const std::string uid_3 = "7d4cc9d8-a676-4b65-aaf2-e72553f2d059";
const std::string uid_4 = "4d213013-9647-4910-9cd8-3eb29cb52666";
const std::string uid_5 = "a8493c1d-4316-4b94-9022-1f1deaed6965";
// Static pods: kubelet's md5 config hash, no dashes.
const std::string static_uid = "6d61fe6aa1fb019df82898d5144703c6";

// The systemd driver escapes '-' in the UID because '-' nests slices.
std::string escaped(std::string uid) {
    std::replace(uid.begin(), uid.end(), '-', '_');
    return uid;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

const std::string sys_burstable = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod";
const std::string sys_besteffort =
    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod";
const std::string sys_guaranteed = "/kubepods.slice/kubepods-pod";
const std::string containerd_svc = "/system.slice/containerd.service/";
const std::string rootless = "/user.slice/user-1000.slice/user@1000.service/user.slice/";

struct Case {
    const char *name;
    std::string path;
    std::optional<Container> want;
};

void PrintTo(const Case &c, std::ostream *os) {
    *os << c.name << ": " << testing::PrintToString(c.path);
}

std::optional<Container> k8s(const std::string &id, const char *runtime, const std::string &uid,
                             const char *qos) {
    Container c{id, std::nullopt, uid, qos};
    if (runtime)
        c.runtime = runtime;
    return c;
}

std::optional<Container> plain(const std::string &id, const char *runtime) {
    return Container{id, runtime, std::nullopt, std::nullopt};
}

std::vector<Case> cases() {
    const auto none = std::optional<Container>{};
    return {
        // containerd, kubelet systemd driver (cgroup v1 and v2 print the same path)
        {"ContainerdSystemdBurstable",
         sys_burstable + escaped(uid_1) + ".slice/cri-containerd-" + id_a + ".scope",
         k8s(id_a, "containerd", uid_1, "burstable")},
        {"ContainerdSystemdBesteffort",
         sys_besteffort + escaped(uid_2) + ".slice/cri-containerd-" + id_b + ".scope",
         k8s(id_b, "containerd", uid_2, "besteffort")},
        {"ContainerdSystemdGuaranteed",
         sys_guaranteed + escaped(uid_3) + ".slice/cri-containerd-" + id_c + ".scope",
         k8s(id_c, "containerd", uid_3, "guaranteed")},
        {"ContainerdSystemdCrunSubgroup",
         sys_burstable + escaped(uid_1) + ".slice/cri-containerd-" + id_a + ".scope/container",
         k8s(id_a, "containerd", uid_1, "burstable")},
        {"ContainerdSystemdStaticPod",
         sys_burstable + static_uid + ".slice/cri-containerd-" + id_h + ".scope",
         k8s(id_h, "containerd", static_uid, "burstable")},
        // containerd, kubelet cgroupfs driver: bare id, the path does not name the runtime
        {"CgroupfsBurstable", "/kubepods/burstable/pod" + uid_1 + "/" + id_a,
         k8s(id_a, nullptr, uid_1, "burstable")},
        {"CgroupfsBesteffort", "/kubepods/besteffort/pod" + uid_2 + "/" + id_b,
         k8s(id_b, nullptr, uid_2, "besteffort")},
        {"CgroupfsGuaranteed", "/kubepods/pod" + uid_3 + "/" + id_c,
         k8s(id_c, nullptr, uid_3, "guaranteed")},
        {"CgroupfsStaticPod", "/kubepods/burstable/pod" + static_uid + "/" + id_h,
         k8s(id_h, nullptr, static_uid, "burstable")},
        {"CgroupfsSubgroup", "/kubepods/pod" + uid_3 + "/" + id_c + "/container",
         k8s(id_c, nullptr, uid_3, "guaranteed")},
        // containerd with SystemdCgroup=false under a systemd kubelet
        {"ColonBesteffort",
         containerd_svc + "kubepods-besteffort-pod" + escaped(uid_2) +
             ".slice:cri-containerd:" + id_b,
         k8s(id_b, "containerd", uid_2, "besteffort")},
        {"ColonBurstable",
         containerd_svc + "kubepods-burstable-pod" + escaped(uid_1) +
             ".slice:cri-containerd:" + id_a,
         k8s(id_a, "containerd", uid_1, "burstable")},
        {"ColonGuaranteed",
         containerd_svc + "kubepods-pod" + escaped(uid_3) + ".slice:cri-containerd:" + id_c,
         k8s(id_c, "containerd", uid_3, "guaranteed")},
        {"ColonInCgroupNamespace",
         "/../../system.slice/containerd.service/kubepods-burstable-pod" + escaped(uid_1) +
             ".slice:cri-containerd:" + id_a,
         k8s(id_a, "containerd", uid_1, "burstable")},
        // CRI-O
        {"CrioSystemdBurstable", sys_burstable + escaped(uid_4) + ".slice/crio-" + id_d + ".scope",
         k8s(id_d, "crio", uid_4, "burstable")},
        {"CrioSystemdGuaranteed",
         sys_guaranteed + escaped(uid_4) + ".slice/crio-" + id_d + ".scope",
         k8s(id_d, "crio", uid_4, "guaranteed")},
        {"CrioCrunSubgroup",
         sys_besteffort + escaped(uid_4) + ".slice/crio-" + id_d + ".scope/container",
         k8s(id_d, "crio", uid_4, "besteffort")},
        {"CrioCgroupfs", "/kubepods/besteffort/pod" + uid_4 + "/crio-" + id_d,
         k8s(id_d, "crio", uid_4, "besteffort")},
        // Docker, standalone and under dockershim
        {"DockerCgroupfs", "/docker/" + id_e, plain(id_e, "docker")},
        {"DockerSystemd", "/system.slice/docker-" + id_e + ".scope", plain(id_e, "docker")},
        {"DockerRootless", rootless + "docker-" + id_e + ".scope", plain(id_e, "docker")},
        {"DockerInDocker", "/docker/" + id_e + "/docker/" + id_a, plain(id_a, "docker")},
        {"DockershimSystemd", sys_besteffort + escaped(uid_5) + ".slice/docker-" + id_e + ".scope",
         k8s(id_e, "docker", uid_5, "besteffort")},
        // Podman
        {"PodmanMachineSlice", "/machine.slice/libpod-" + id_f + ".scope", plain(id_f, "podman")},
        {"PodmanRootlessContainer", rootless + "libpod-" + id_f + ".scope/container",
         plain(id_f, "podman")},
        {"PodmanRootlessScope", rootless + "libpod-" + id_f + ".scope", plain(id_f, "podman")},
        {"PodmanPodSlice",
         "/machine.slice/machine-libpod_pod_" + id_g + ".slice/libpod-" + id_f + ".scope",
         plain(id_f, "podman")},
        {"PodmanCgroupfs", "/libpod_parent/libpod-" + id_f, plain(id_f, "podman")},
        // k3s (cgroupfs-style, runtime not named)
        {"K3sBurstable", "/kubepods/burstable/pod" + uid_5 + "/" + id_g,
         k8s(id_g, nullptr, uid_5, "burstable")},
        {"K3sGuaranteed", "/kubepods/pod" + uid_2 + "/" + id_g,
         k8s(id_g, nullptr, uid_2, "guaranteed")},
        // Cgroup namespaces, foreign prefixes, kind
        {"CgroupnsSystemd",
         "/../.." + sys_burstable + escaped(uid_1) + ".slice/cri-containerd-" + id_a + ".scope",
         k8s(id_a, "containerd", uid_1, "burstable")},
        {"CgroupnsCgroupfs", "/../../../kubepods/besteffort/pod" + uid_2 + "/" + id_b,
         k8s(id_b, nullptr, uid_2, "besteffort")},
        {"CgroupnsDocker", "/../../system.slice/docker-" + id_e + ".scope", plain(id_e, "docker")},
        {"ScratchParent", "/freezeprobe-demo-123/kubepods/burstable/pod" + uid_1 + "/" + id_a,
         k8s(id_a, nullptr, uid_1, "burstable")},
        {"KindCgroupRoot",
         "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
         "kubelet-kubepods-besteffort-pod" +
             escaped(uid_2) + ".slice/cri-containerd-" + id_b + ".scope",
         k8s(id_b, "containerd", uid_2, "besteffort")},
        {"KindNodeSeenFromHost",
         "/system.slice/docker-" + id_e +
             ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + escaped(uid_3) +
             ".slice/cri-containerd-" + id_c + ".scope",
         k8s(id_c, "containerd", uid_3, "guaranteed")},

        // Not containers
        {"Empty", "", none},
        {"Root", "/", none},
        {"OnlyParentDirs", "/../..", none},
        {"UserSlice", "/user.slice", none},
        {"ContainerdService", "/system.slice/containerd.service", none},
        {"InitScope", "/init.scope", none},
        {"QosLevel", "/kubepods/burstable", none},
        {"PodLevelCgroupfs", "/kubepods/burstable/pod" + uid_1, none},
        {"PodLevelSystemd", sys_burstable + escaped(uid_1) + ".slice", none},
        {"CrioConmon", sys_burstable + escaped(uid_4) + ".slice/crio-conmon-" + id_d + ".scope",
         none},
        {"LibpodConmon", "/machine.slice/libpod-conmon-" + id_f + ".scope", none},
        {"LibpodCgroupfsConmonChild", "/libpod_parent/libpod-" + id_f + "/conmon", none},
        {"IdTooShort", "/kubepods/burstable/pod" + uid_1 + "/" + id_a.substr(1), none},
        {"IdTooLong", "/system.slice/docker-" + id_e + "0.scope", none},
        {"IdNotHex", "/docker/" + id_e.substr(0, 63) + "g", none},
        {"IdUppercase", "/docker/" + upper(id_e), none},
        {"BareIdWithoutPod", "/system.slice/" + id_a, none},
        {"PodOutsideKubepods", "/scratch/pod" + uid_1 + "/" + id_a, none},
        {"PodUidUppercase", "/kubepods/pod" + upper(uid_1) + "/" + id_a, none},
        {"PodUidEscapedInCgroupfs", "/kubepods/pod" + escaped(uid_1) + "/" + id_a, none},
        {"ColonWithoutSlice", containerd_svc + "kubepods:cri-containerd:" + id_a, none},
        {"TwoLevelsBelowScope", "/system.slice/docker-" + id_e + ".scope/a/b", none},
        {"TrailingNewline", "/docker/" + id_e + "\n", none},
        {"QuotedId", "/docker/\"" + id_e + "\"", none},
        {"NonUtf8Byte", "/docker/\xff" + id_e.substr(1), none},
        {"DotDotInMiddle", "/kubepods/../docker/" + id_e, none},
        {"DoubleSlash", "/docker//" + id_e, none},
        {"TrailingSlash", "/docker/" + id_e + "/", none},
        {"Relative", "docker/" + id_e, none},
        {"EmbeddedNul", std::string("/docker/\0", 9) + id_e, none},
    };
}

class ResolveTable : public testing::TestWithParam<Case> {};

TEST_P(ResolveTable, MatchesExpected) {
    EXPECT_EQ(resolve_container(GetParam().path), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(RealWorld, ResolveTable, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case> &param_info) {
                             return std::string(param_info.param.name);
                         });

TEST(ResolveContainer, TableIsLargeEnough) {
    const auto all = cases();
    const auto nulls = std::count_if(all.begin(), all.end(), [](const Case &c) { return !c.want; });
    EXPECT_GE(all.size() - nulls, 30u);
    EXPECT_GE(nulls, 8);
}

TEST(ResolveContainer, HugePrefixStillResolves) {
    std::string path;
    for (int i = 0; i < 500000; ++i)
        path += "/x";
    path += "/docker/" + id_e;
    EXPECT_EQ(resolve_container(path), plain(id_e, "docker"));
}

TEST(ResolveContainer, HugeJunkIsNull) {
    EXPECT_EQ(resolve_container(std::string(4 << 20, 'a')), std::nullopt);
    EXPECT_EQ(resolve_container("/" + std::string(4 << 20, 'a')), std::nullopt);
    EXPECT_EQ(resolve_container(std::string(4 << 20, '/')), std::nullopt);
}

// Every answer, whatever the input, must be safe to print: a lowercase 64-hex id and a runtime
// from the known set. Mutates real paths byte by byte so the fuzz lands near the accepted forms.
TEST(ResolveContainer, MutatedPathsKeepInvariants) {
    std::uint32_t state = 12345;
    auto next = [&state] { return state = state * 1664525u + 1013904223u; };
    const auto seeds = cases();
    for (int round = 0; round < 20000; ++round) {
        std::string path = seeds[next() % seeds.size()].path;
        for (int edits = next() % 4; edits >= 0 && !path.empty(); --edits)
            path[next() % path.size()] = static_cast<char>(next() >> 24);
        const auto got = resolve_container(path);
        if (!got)
            continue;
        SCOPED_TRACE(testing::PrintToString(path));
        ASSERT_EQ(got->id.size(), 64u);
        EXPECT_TRUE(std::all_of(got->id.begin(), got->id.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }));
        if (got->runtime) {
            const std::string &r = *got->runtime;
            EXPECT_TRUE(r == "containerd" || r == "crio" || r == "docker" || r == "podman") << r;
        }
        EXPECT_EQ(got->pod_uid.has_value(), got->qos.has_value());
    }
}

} // namespace
} // namespace freezeprobe
