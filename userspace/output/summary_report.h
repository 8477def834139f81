// The summary report (`--report FILE`, docs/report.md): one pretty-printed JSON document
// with the run's facts and one entry per cgroup seen. Like the JSON lines, it stays valid JSON
// whatever bytes a cgroup name holds (invalid UTF-8 becomes U+FFFD).
#pragma once

#include "aggregator.h"
#include "run_info.h"

#include <string>
#include <vector>

namespace freezeprobe {

// The cgroups in the order both reports list them: by hierarchy, then path (unknown paths last),
// then v1 controllers and id, so that two runs diff well.
std::vector<const CgroupStats *> cgroups_in_report_order(const Aggregator &aggregator);

std::string summary_report_json(const Aggregator &aggregator, const RunInfo &run);

} // namespace freezeprobe
