// Recognises the cgroup layouts of containerd, CRI-O, Docker, Podman and kubelet (systemd and
// cgroupfs drivers). Every accepted form is matched exactly; anything else is "not a container"
// because a wrong container name in a freeze report is worse than none.
#include "container_resolver.h"

#include <array>
#include <cstddef>
#include <utility>

namespace freezeprobe {
namespace {

constexpr std::size_t id_length = 64;

bool is_lower_hex_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_lower_hex(std::string_view s) {
    for (char c : s) {
        if (!is_lower_hex_char(c))
            return false;
    }
    return !s.empty();
}

// Uppercase is rejected on purpose: runtimes only ever print lowercase ids, so an uppercase
// "id" is some other name that happens to be 64 characters long.
bool is_container_id(std::string_view s) {
    return s.size() == id_length && is_lower_hex(s);
}

// The container sits at the leaf or one level above it, and its pod, QoS class and `kubepods`
// at most three levels above that. Keeping only this tail means a hostile multi-megabyte path
// costs one scan and no allocation.
constexpr std::size_t tail_depth = 5;

class Tail {
  public:
    void push(std::string_view name) {
        if (size_ == tail_depth) {
            for (std::size_t i = 1; i < tail_depth; ++i)
                names_[i - 1] = names_[i];
            --size_;
        }
        names_[size_++] = name;
    }
    // `up` levels above the leaf; "" when the path is not that deep (never a real name).
    std::string_view at(std::size_t up) const {
        return up < size_ ? names_[size_ - 1 - up] : std::string_view{};
    }

  private:
    std::array<std::string_view, tail_depth> names_{};
    std::size_t size_ = 0;
};

// Paths come from the kernel, so anything it cannot print (empty or "." components, NUL, ".."
// after a real name) is rejected instead of normalised. Leading ".." components are how the
// kernel shows a cgroup outside the reader's cgroup namespace; they carry no names, so drop them.
std::optional<Tail> split_tail(std::string_view path) {
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos)
        return std::nullopt;
    Tail tail;
    bool seen_name = false;
    std::size_t pos = 1;
    while (true) {
        const std::size_t slash = path.find('/', pos);
        const std::string_view name =
            path.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
        if (name.empty() || name == ".")
            return std::nullopt;
        if (name == "..") {
            if (seen_name)
                return std::nullopt;
        } else {
            seen_name = true;
            tail.push(name);
        }
        if (slash == std::string_view::npos)
            return tail;
        pos = slash + 1;
    }
}

// Kubernetes UIDs are UUIDs; static pods use the 32-hex config hash instead, which kubelet
// uses verbatim in cgroup names. `sep` is '-' for cgroupfs names and '_' for systemd slices,
// where '-' means "nested slice" and kubelet escapes it.
std::optional<std::string> parse_pod_uid(std::string_view s, char sep) {
    if (s.size() == 32 && is_lower_hex(s))
        return std::string(s);
    if (s.size() != 36)
        return std::nullopt;
    std::string uid(s);
    for (std::size_t i = 0; i < uid.size(); ++i) {
        const bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_slot) {
            if (uid[i] != sep)
                return std::nullopt;
            uid[i] = '-';
        } else if (!is_lower_hex_char(uid[i])) {
            return std::nullopt;
        }
    }
    return uid;
}

struct Pod {
    std::string uid;
    std::string qos;
};

// systemd driver: `kubepods[-<qos>]-pod<uid_>.slice`. With a kubelet --cgroup-root (kind uses
// `/kubelet`) systemd prefixes the parent's name: `kubelet-kubepods-burstable-pod<uid_>.slice`.
std::optional<Pod> pod_from_slice(std::string_view name) {
    constexpr std::string_view suffix = ".slice";
    if (!name.ends_with(suffix))
        return std::nullopt;
    name.remove_suffix(suffix.size());
    const std::size_t dash = name.rfind('-');
    if (dash == std::string_view::npos || !name.substr(dash + 1).starts_with("pod"))
        return std::nullopt;
    auto uid = parse_pod_uid(name.substr(dash + 4), '_');
    if (!uid)
        return std::nullopt;
    const std::string_view head = name.substr(0, dash);
    // Longest first, so "kubepods-burstable" is not read as a cgroup root named "...-kubepods".
    constexpr std::array<std::pair<std::string_view, std::string_view>, 3> levels{{
        {"kubepods-burstable", "burstable"},
        {"kubepods-besteffort", "besteffort"},
        {"kubepods", "guaranteed"},
    }};
    for (const auto &[level, qos] : levels) {
        if (head == level)
            return Pod{std::move(*uid), std::string(qos)};
        if (head.size() > level.size() + 1 && head.ends_with(level) &&
            head[head.size() - level.size() - 1] == '-')
            return Pod{std::move(*uid), std::string(qos)};
    }
    return std::nullopt;
}

// cgroupfs driver: `kubepods/pod<uid>` (guaranteed) or `kubepods/<qos>/pod<uid>`. The parent
// chain is required so an unrelated directory named pod<uuid> is not taken for a pod.
std::optional<Pod> pod_from_cgroupfs(const Tail &tail, std::size_t up) {
    const std::string_view name = tail.at(up);
    if (!name.starts_with("pod"))
        return std::nullopt;
    auto uid = parse_pod_uid(name.substr(3), '-');
    if (!uid)
        return std::nullopt;
    const std::string_view parent = tail.at(up + 1);
    if (parent == "kubepods")
        return Pod{std::move(*uid), "guaranteed"};
    if ((parent == "burstable" || parent == "besteffort") && tail.at(up + 2) == "kubepods")
        return Pod{std::move(*uid), std::string(parent)};
    return std::nullopt;
}

std::optional<Pod> pod_at(const Tail &tail, std::size_t up) {
    if (auto pod = pod_from_slice(tail.at(up)))
        return pod;
    return pod_from_cgroupfs(tail, up);
}

Container make_container(std::string_view id, std::optional<std::string> runtime,
                         std::optional<Pod> pod) {
    Container c;
    c.id = std::string(id);
    c.runtime = std::move(runtime);
    if (pod) {
        c.pod_uid = std::move(pod->uid);
        c.qos = std::move(pod->qos);
    }
    return c;
}

struct ScopeForm {
    std::string_view prefix;
    const char *runtime;
    bool bare_allowed; // cgroupfs drivers of CRI-O and Podman drop the ".scope"
};

constexpr std::array<ScopeForm, 4> scope_forms{{
    {"cri-containerd-", "containerd", false},
    {"crio-", "crio", true},
    {"docker-", "docker", false},
    {"libpod-", "podman", true},
}};

// `crio-conmon-<id>.scope` and `libpod-conmon-<id>.scope` fall out here: "conmon-<id>" is not
// an id, so the monitor process is never attributed to the container it watches.
std::optional<std::string_view> scope_id(std::string_view name, const ScopeForm &form) {
    if (!name.starts_with(form.prefix))
        return std::nullopt;
    name.remove_prefix(form.prefix.size());
    constexpr std::string_view scope = ".scope";
    if (name.ends_with(scope))
        name.remove_suffix(scope.size());
    else if (!form.bare_allowed)
        return std::nullopt;
    if (!is_container_id(name))
        return std::nullopt;
    return name;
}

// containerd with SystemdCgroup=false under a systemd kubelet: runc's cgroupfs driver takes
// the `slice:prefix:id` cgroupsPath literally, below containerd's own cgroup.
std::optional<Container> colon_form(std::string_view name) {
    constexpr std::string_view marker = ":cri-containerd:";
    const std::size_t pos = name.find(marker);
    if (pos == std::string_view::npos)
        return std::nullopt;
    const std::string_view slice = name.substr(0, pos);
    const std::string_view id = name.substr(pos + marker.size());
    if (!is_container_id(id) || slice.size() <= 6 || !slice.ends_with(".slice") ||
        slice.find(':') != std::string_view::npos)
        return std::nullopt;
    return make_container(id, "containerd", pod_from_slice(slice));
}

std::optional<Container> container_at(const Tail &tail, std::size_t up) {
    const std::string_view name = tail.at(up);
    for (const ScopeForm &form : scope_forms) {
        if (auto id = scope_id(name, form))
            return make_container(*id, form.runtime, pod_at(tail, up + 1));
    }
    if (auto c = colon_form(name))
        return c;
    if (!is_container_id(name))
        return std::nullopt;
    // A bare id says nothing by itself; only its parent tells whose it is.
    if (tail.at(up + 1) == "docker")
        return make_container(name, "docker", std::nullopt);
    if (auto pod = pod_from_cgroupfs(tail, up + 1))
        return make_container(name, std::nullopt, std::move(pod));
    return std::nullopt;
}

} // namespace

std::optional<Container> resolve_container(std::string_view cgroup_path) {
    const auto tail = split_tail(cgroup_path);
    if (!tail)
        return std::nullopt;
    if (auto c = container_at(*tail, 0))
        return c;
    // crun with the systemd driver runs the payload in a child of the container scope (podman
    // shows `libpod-<id>.scope/container`). Old podman's cgroupfs driver put conmon in such a
    // child, named `conmon`, and the monitor must not count as the container.
    if (tail->at(0) == "conmon")
        return std::nullopt;
    return container_at(*tail, 1);
}

} // namespace freezeprobe
