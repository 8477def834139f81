// The human diagnosis of a stalled or finished freeze, in one short paragraph: who asked for
// the freeze, how long it has been pending, what the runtime did meanwhile, which task blocks it
// and where it sleeps. Used by the text output (and the JSON `diagnosis` key).
#pragma once

#include "event_model.h"

#include <string>

namespace freezeprobe {

// "container 27a4f6560a89 (pod 856f...)" or "cgroup /system.slice/x" (v1/v2 named).
std::string cgroup_subject(const CgroupRef &cgroup);
// "pid 4321 (cat) in D state at request_wait_answer, waiting for a FUSE daemon to answer"
std::string describe_blocker(const Blocker &b);

std::string stall_diagnosis(const CgroupRef &cgroup, const FreezeStall &stall);
std::string held_diagnosis(const CgroupRef &cgroup, const FreezeHeld &held);
std::string episode_diagnosis(const CgroupRef &cgroup, const FreezeEpisode &episode);

} // namespace freezeprobe
