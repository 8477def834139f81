// Sample cgroups and run information shared by the output tests (JSON, text, summary, JUnit).
#pragma once

#include "event_model.h"
#include "run_info.h"

#include <cstdint>
#include <string>

namespace freezeprobe::samples {

inline const std::string container_id =
    "1c5b05b0c7c8e5e954e54b1aeff433123f23efa046a29a0dcd72431cbacd22a4";
inline const std::string pod_uid = "4164b8ac-667a-484c-9c8c-a16ddc6c0554";
// 2023-11-14T22:13:20.123456789Z
constexpr std::uint64_t t_ns = 1700000000ull * 1'000'000'000 + 123456789;

// A kubelet cgroupfs-driver container in the v1 hierarchy named by controllers.
inline CgroupRef v1_container(std::string controllers = "freezer", std::uint64_t id = 10) {
    return CgroupRef{1, std::move(controllers),
                     "/kubepods/burstable/pod" + pod_uid + "/" + container_id, id,
                     Container{container_id, "containerd", pod_uid, "burstable"}};
}

// A v2 cgroup that is not a container.
inline CgroupRef v2_plain(std::string path = "/system.slice/test.service", std::uint64_t id = 20) {
    return CgroupRef{2, "", std::move(path), id, std::nullopt};
}

inline RunInfo run_info(std::uint64_t duration_ns) {
    RunInfo run;
    run.version = "0.1.0";
    run.attach_mode = "tracepoint";
    run.kernel = "6.1.0-18-amd64";
    run.started_ns = t_ns;
    run.ended_ns = t_ns + duration_ns;
    return run;
}

} // namespace freezeprobe::samples
