// The Aggregator's node-wide series in the Prometheus text exposition format 0.0.4, for /metrics
// and for node_exporter's textfile collector (docs/report.md):
//
//   freezeprobe_freeze_episodes_total{outcome,hierarchy,container_id,pod_uid,
//                                     namespace,pod,container}                 counter
//   freezeprobe_freeze_duration_seconds                                         histogram
//   freezeprobe_cgroup_writes_total{file,error}                                 counter
//   freezeprobe_cgroup_write_latency_seconds{file}                              histogram
//   freezeprobe_events_lost_total                                               counter
//   freezeprobe_freeze_stalls_total                                             counter
//
// Every family has its HELP and TYPE lines even before it has samples. The unlabelled series
// (the freeze duration histogram and events_lost_total) are always present, at zero until
// something happens, so that rate() and absent() work from the first scrape. A successful write
// has error="none"; a failed one the errno name ("EBUSY"). A cgroup outside any container has
// container_id="" and pod_uid="" (empty, which Prometheus treats as no label); a container whose
// Kubernetes names are unknown has namespace="", pod="" and container="".
//
// The log2 buckets of the Aggregator become cumulative buckets whose upper bounds are exact: the
// top of log2 bucket i is 2^i - 1 ns, and since the observations are whole nanoseconds,
// "<= 2^i - 1 ns" is exactly what the bucket counted. Only the bounds from ~1 us (1023 ns) to
// ~1100 s (2^40 - 1 ns) are exported; smaller values fold into the first bucket (the buckets are
// cumulative), larger ones show only in +Inf, _sum and _count.
#pragma once

#include "aggregator.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace freezeprobe {

std::string prometheus_text(const Aggregator &aggregator);

// A label value as it goes between the double quotes: invalid UTF-8 (cgroup names may hold any
// byte) becomes U+FFFD, then backslash, double quote and newline are escaped.
std::string prometheus_label_value(std::string_view value);

// Whole nanoseconds as an exact decimal number of seconds: 1023 -> "0.000001023", 0 -> "0",
// 1500000000 -> "1.5".
std::string seconds_text(std::uint64_t ns);

} // namespace freezeprobe
