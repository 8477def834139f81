// Cgroup path -> container identity, from the names runtimes and kubelet give their cgroups.
// Pure and allocation-light so it can be table-tested and fuzzed without a runtime around.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace freezeprobe {

struct Container {
    std::string id;                     // 64 lowercase hex
    std::optional<std::string> runtime; // "containerd" | "crio" | "docker" | "podman" | nullopt
                                        // when the path does not say
    std::optional<std::string> pod_uid; // normalised with dashes, lowercase, e.g. "1f8d2a4c-...";
                                        // nullopt if not a k8s pod
    std::optional<std::string> qos; // "guaranteed" | "burstable" | "besteffort"; nullopt outside
                                    // kubepods
    // Kubernetes names, from the node's files (container_names.h), never from the path; nullopt
    // when unknown.
    std::optional<std::string> name;
    std::optional<std::string> pod_name;
    std::optional<std::string> namespace_name;
    std::optional<bool> sandbox; // true for a pod sandbox (pause) container
    bool operator==(const Container &) const = default;
};

// Pure function: cgroup path (from the hierarchy root, as the kernel prints it) -> container, or
// nullopt. Never guesses: a layout it does not know gives nullopt, not a best effort.
std::optional<Container> resolve_container(std::string_view cgroup_path);

} // namespace freezeprobe
