// Kubernetes names of a container (namespace, pod, container, whether it is a pod sandbox) from
// files the node already has, without a runtime socket or the API server:
//   - kubelet's pod log directory /var/log/pods/<namespace>_<pod>_<uid>/ (made before the pod
//     sandbox runs), matched by the pod UID of the cgroup path;
//   - the OCI bundle's config.json, which the runtime writes before `runc create`: containerd's
//     /run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json (CRI annotations
//     io.kubernetes.cri.*), CRI-O's /run/containers/storage/overlay-containers/<id>/userdata/
//     config.json (io.kubernetes.container.name, io.kubernetes.pod.*).
// /var/log/containers is not used: kubelet links those files only after a container started, so
// they are missing for the creates that fail.
//
// Looked up once per container and cached (bounded); a container whose files are not all there
// yet is looked up again with a doubling back-off, never once per event.
#pragma once

#include "container_resolver.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace freezeprobe {

// A pod log directory's name, "<namespace>_<pod>_<uid>". Namespaces (DNS labels), pod names (DNS
// subdomains) and UIDs hold no '_', so the name splits into exactly three parts or is not one.
struct PodLogDir {
    std::string namespace_name;
    std::string pod_name;
    std::string uid;
    bool operator==(const PodLogDir &) const = default;
};
std::optional<PodLogDir> parse_pod_log_dir(std::string_view name);

// What an OCI bundle's config.json annotations say (containerd's CRI plugin or CRI-O).
struct BundleNames {
    std::optional<std::string> name;
    std::optional<std::string> pod_name;
    std::optional<std::string> namespace_name;
    std::optional<std::string> pod_uid;
    std::optional<bool> sandbox;
    bool operator==(const BundleNames &) const = default;
};
// nullopt when the text is not a JSON object; empty names when it has no Kubernetes annotations.
std::optional<BundleNames> parse_bundle_config(std::string_view json_text);

// "namespace/pod/container" when namespace and pod are known; a sandbox's container part is
// "<sandbox>", an unknown one "?". nullopt when the pod is not known.
std::optional<std::string> kubernetes_name(const Container &c);

// The node's files, read under a root (--host-root). An interface so the cache can be tested
// with fake files.
class NodeFiles {
  public:
    virtual ~NodeFiles() = default;
    // The file's text (at most max_bytes), nullopt when it cannot be read.
    virtual std::optional<std::string> read(const std::string &path) = 0;
    // The names in a directory, empty when it cannot be read.
    virtual std::vector<std::string> list(const std::string &dir) = 0;
};

// Reads `root + path` ("" root: the paths as they are).
std::unique_ptr<NodeFiles> host_files(std::string root);

class ContainerNamer {
  public:
    struct Limits {
        std::size_t max_containers = 4096;
        std::uint64_t first_retry_ns = 500'000'000;
        std::uint64_t max_retry_ns = 60'000'000'000;
    };
    using Clock = std::function<std::uint64_t()>; // monotonic ns

    ContainerNamer(std::unique_ptr<NodeFiles> files, Clock clock, Limits limits);
    ContainerNamer(std::unique_ptr<NodeFiles> files, Clock clock)
        : ContainerNamer(std::move(files), std::move(clock), Limits{}) {}

    // Fills c's names (and its pod UID when the cgroup path did not have one) from the cache,
    // looking the files up when c is new or its retry is due.
    void name(Container &c);

    std::uint64_t lookups() const { return lookups_; }     // times the files were read
    std::uint64_t evictions() const { return evictions_; } // containers dropped to stay bounded
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        BundleNames names;
        bool complete = false;
        std::uint64_t next_try_ns = 0;
        std::uint64_t retry_ns = 0;
        std::uint64_t sequence = 0; // insertion order, for eviction
    };
    BundleNames look_up(const Container &c, bool &complete);
    void make_room();

    std::unique_ptr<NodeFiles> files_;
    Clock clock_;
    Limits limits_;
    std::unordered_map<std::string, Entry> entries_;
    std::uint64_t sequence_ = 0;
    std::uint64_t lookups_ = 0;
    std::uint64_t evictions_ = 0;
};

} // namespace freezeprobe
