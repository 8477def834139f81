#include "container_names.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

// Annotation keys, as the runtimes write them (containerd internal/cri/annotations,
// cri-o pkg/annotations with kubelet's labels in pkg/kubelet/types/labels.go).
struct AnnotationKeys {
    const char *name;
    const char *pod_name;
    const char *namespace_name;
    const char *pod_uid;
    const char *type; // "sandbox" | "container"
};
constexpr std::array<AnnotationKeys, 2> annotation_keys{{
    {"io.kubernetes.cri.container-name", "io.kubernetes.cri.sandbox-name",
     "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-uid",
     "io.kubernetes.cri.container-type"},
    {"io.kubernetes.container.name", "io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
     "io.kubernetes.pod.uid", "io.kubernetes.cri-o.ContainerType"},
}};

constexpr std::string_view pod_logs_dir = "/var/log/pods";
constexpr std::string_view containerd_tasks =
    "/run/containerd/io.containerd.runtime.v2.task/k8s.io/";
constexpr std::string_view crio_containers = "/run/containers/storage/overlay-containers/";

// config.json of a big container is tens of KiB; anything past this is not one.
constexpr std::size_t max_config_bytes = 4 << 20;

std::optional<std::string> string_at(const nlohmann::json &annotations, const char *key) {
    auto it = annotations.find(key);
    if (it == annotations.end() || !it->is_string() || it->get_ref<const std::string &>().empty())
        return std::nullopt;
    return it->get<std::string>();
}

std::vector<std::string> bundle_paths(const Container &c) {
    std::vector<std::string> paths;
    auto containerd = std::string(containerd_tasks) + c.id + "/config.json";
    auto crio = std::string(crio_containers) + c.id + "/userdata/config.json";
    if (!c.runtime || *c.runtime == "containerd")
        paths.push_back(containerd);
    if (!c.runtime || *c.runtime == "crio")
        paths.push_back(crio);
    return paths;
}

class HostFiles : public NodeFiles {
  public:
    explicit HostFiles(std::string root) : root_(std::move(root)) {
        while (!root_.empty() && root_.back() == '/')
            root_.pop_back();
    }
    std::optional<std::string> read(const std::string &path) override {
        int fd = ::open((root_ + path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return std::nullopt;
        std::string text;
        char buf[16384];
        while (text.size() <= max_config_bytes) {
            auto n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ::close(fd);
                return n == 0 ? std::optional(std::move(text)) : std::nullopt;
            }
            text.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        return std::nullopt;
    }
    std::vector<std::string> list(const std::string &dir) override {
        std::vector<std::string> names;
        DIR *d = ::opendir((root_ + dir).c_str());
        if (!d)
            return names;
        while (auto *e = ::readdir(d)) {
            std::string_view name = e->d_name;
            if (name != "." && name != "..")
                names.emplace_back(name);
        }
        ::closedir(d);
        return names;
    }

  private:
    std::string root_;
};

} // namespace

std::optional<PodLogDir> parse_pod_log_dir(std::string_view name) {
    auto first = name.find('_');
    if (first == std::string_view::npos)
        return std::nullopt;
    auto second = name.find('_', first + 1);
    if (second == std::string_view::npos || name.find('_', second + 1) != std::string_view::npos)
        return std::nullopt;
    PodLogDir dir{std::string(name.substr(0, first)),
                  std::string(name.substr(first + 1, second - first - 1)),
                  std::string(name.substr(second + 1))};
    if (dir.namespace_name.empty() || dir.pod_name.empty() || dir.uid.empty())
        return std::nullopt;
    return dir;
}

std::optional<BundleNames> parse_bundle_config(std::string_view json_text) {
    auto j = nlohmann::json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return std::nullopt;
    BundleNames names;
    auto it = j.find("annotations");
    if (it == j.end() || !it->is_object())
        return names;
    for (auto &keys : annotation_keys) {
        auto type = string_at(*it, keys.type);
        BundleNames found{string_at(*it, keys.name), string_at(*it, keys.pod_name),
                          string_at(*it, keys.namespace_name), string_at(*it, keys.pod_uid),
                          std::nullopt};
        if (type == "sandbox")
            found.sandbox = true;
        else if (type == "container")
            found.sandbox = false;
        if (found != BundleNames{})
            return found;
    }
    return names;
}

std::optional<std::string> kubernetes_name(const Container &c) {
    if (!c.namespace_name || !c.pod_name)
        return std::nullopt;
    std::string container = c.name ? *c.name : c.sandbox == true ? "<sandbox>" : "?";
    return *c.namespace_name + "/" + *c.pod_name + "/" + container;
}

std::unique_ptr<NodeFiles> host_files(std::string root) {
    return std::make_unique<HostFiles>(std::move(root));
}

ContainerNamer::ContainerNamer(std::unique_ptr<NodeFiles> files, Clock clock, Limits limits)
    : files_(std::move(files)), clock_(std::move(clock)), limits_(limits) {}

// The bundle gives the container's name and type, and the pod's names and UID (containerd and
// CRI-O both annotate every container with them); the pod log directory gives the pod's names
// too, and is there for a pod sandbox whose bundle is not written yet. Complete when the bundle
// was read and, for a pod, its names are known.
BundleNames ContainerNamer::look_up(const Container &c, bool &complete) {
    ++lookups_;
    BundleNames names;
    bool bundle_read = false;
    for (auto &path : bundle_paths(c)) {
        auto text = files_->read(path);
        if (!text)
            continue;
        if (auto parsed = parse_bundle_config(*text)) {
            names = std::move(*parsed);
            bundle_read = true;
            break;
        }
    }
    auto uid = c.pod_uid ? c.pod_uid : names.pod_uid;
    if (uid) {
        names.pod_uid = uid;
        for (auto &entry : files_->list(std::string(pod_logs_dir))) {
            auto dir = parse_pod_log_dir(entry);
            if (dir && dir->uid == *uid) {
                names.namespace_name = dir->namespace_name;
                names.pod_name = dir->pod_name;
                break;
            }
        }
    }
    // docker and podman write no such files: nothing more to wait for.
    bool other_runtime = c.runtime && *c.runtime != "containerd" && *c.runtime != "crio";
    complete = other_runtime || (bundle_read && (!uid || (names.namespace_name && names.pod_name)));
    return names;
}

void ContainerNamer::make_room() {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto &a, auto &b) {
        return a.second.sequence < b.second.sequence;
    });
    entries_.erase(oldest);
    ++evictions_;
}

void ContainerNamer::name(Container &c) {
    auto it = entries_.find(c.id);
    auto now = clock_();
    if (it == entries_.end()) {
        if (entries_.size() >= limits_.max_containers)
            make_room();
        it = entries_.emplace(c.id, Entry{}).first;
        it->second.sequence = ++sequence_;
        it->second.next_try_ns = now;
    }
    auto &e = it->second;
    if (!e.complete && now >= e.next_try_ns) {
        e.names = look_up(c, e.complete);
        e.retry_ns =
            e.retry_ns ? std::min(e.retry_ns * 2, limits_.max_retry_ns) : limits_.first_retry_ns;
        e.next_try_ns = now + e.retry_ns;
    }
    c.name = e.names.name;
    c.pod_name = e.names.pod_name;
    c.namespace_name = e.names.namespace_name;
    c.sandbox = e.names.sandbox;
    if (!c.pod_uid)
        c.pod_uid = e.names.pod_uid;
}

} // namespace freezeprobe
