#include "prometheus_metrics.h"

#include "utf8.h"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>
#include <map>

namespace freezeprobe {
namespace {

// The exported bucket bounds, as log2 bucket indexes (see the header).
constexpr std::size_t first_bucket = 10; // le = 1023 ns
constexpr std::size_t last_bucket = 40;  // le = 2^40 - 1 ns, about 1100 s

void family(std::string &out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// labels: the rendered label pairs without braces ("file=\"cgroup.procs\""), or empty.
void histogram(std::string &out, std::string_view name, const std::string &labels,
               const Log2Histogram &h) {
    auto sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < first_bucket; ++i)
        cumulative += h.buckets[i];
    for (std::size_t i = first_bucket; i <= last_bucket; ++i) {
        cumulative += h.buckets[i];
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels,
                       sep, seconds_text(Log2Histogram::bucket_top(i)), cumulative);
    }
    auto braces = labels.empty() ? std::string() : "{" + labels + "}";
    fmt::format_to(std::back_inserter(out),
                   "{}_bucket{{{}{}le=\"+Inf\"}} {}\n{}_sum{} {}\n{}_count{} {}\n", name, labels,
                   sep, h.count, name, braces, seconds_text(h.sum), name, braces, h.count);
}

void merge(Log2Histogram &into, const Log2Histogram &h) {
    for (std::size_t i = 0; i < h.buckets.size(); ++i)
        into.buckets[i] += h.buckets[i];
    into.count += h.count;
    into.sum += h.sum;
    into.max = std::max(into.max, h.max);
}

} // namespace

std::string prometheus_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    while (!value.empty()) {
        auto c = decode_utf8(value, 0);
        auto n = c.length;
        if (!c.valid) {
            out += replacement_character; // one per invalid sequence, as every output (utf8.h)
            value.remove_prefix(n);
            continue;
        }
        if (n == 1 && (value[0] == '\\' || value[0] == '"')) {
            out += '\\';
            out += value[0];
        } else if (n == 1 && value[0] == '\n') {
            out += "\\n";
        } else {
            out.append(value.substr(0, n));
        }
        value.remove_prefix(n);
    }
    return out;
}

std::string seconds_text(std::uint64_t ns) {
    auto whole = ns / 1'000'000'000;
    auto frac = ns % 1'000'000'000;
    if (frac == 0)
        return std::to_string(whole);
    auto digits = fmt::format("{:09}", frac);
    digits.erase(digits.find_last_not_of('0') + 1);
    return fmt::format("{}.{}", whole, digits);
}

std::string prometheus_text(const Aggregator &aggregator) {
    auto label = [](std::string_view name, std::string_view value) {
        return fmt::format("{}=\"{}\"", name, prometheus_label_value(value));
    };
    // Keyed by the rendered labels, so that two raw values which sanitise to the same text (two
    // invalid byte sequences both become U+FFFD) add up instead of making a duplicate series,
    // which would fail the whole scrape.
    std::map<std::string, std::uint64_t> episodes, writes;
    for (auto &[labels, count] : aggregator.episodes_total()) {
        auto &[outcome, hierarchy, container_id, pod_uid, namespace_name, pod, container] = labels;
        episodes[fmt::format("{},{},{},{},{},{},{}", label("outcome", outcome),
                             label("hierarchy", hierarchy), label("container_id", container_id),
                             label("pod_uid", pod_uid), label("namespace", namespace_name),
                             label("pod", pod), label("container", container))] += count;
    }
    for (auto &[labels, count] : aggregator.writes_total()) {
        auto &[file, error] = labels;
        writes[label("file", file) + "," + label("error", error.empty() ? "none" : error)] += count;
    }
    std::map<std::string, Log2Histogram> latency, lock_wait;
    for (auto &[file, h] : aggregator.write_latency_ns())
        merge(latency[label("file", file)], h);
    for (auto &[file, h] : aggregator.write_lock_wait_ns())
        merge(lock_wait[label("file", file)], h);

    std::string out;
    auto counters = [&](std::string_view name, const std::map<std::string, std::uint64_t> &series) {
        for (auto &[labels, count] : series)
            fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, count);
    };
    family(out, "freezeprobe_freeze_episodes_total", "counter",
           "Freeze episodes that ended, by outcome (frozen, aborted, thawed, removed, open).");
    counters("freezeprobe_freeze_episodes_total", episodes);

    family(out, "freezeprobe_freeze_duration_seconds", "histogram",
           "Time from the first freeze request to frozen, for episodes that reached frozen.");
    histogram(out, "freezeprobe_freeze_duration_seconds", "", aggregator.freeze_duration_ns());

    family(out, "freezeprobe_cgroup_writes_total", "counter",
           "Writes to cgroup control files, by file and errno name (none when it succeeded).");
    counters("freezeprobe_cgroup_writes_total", writes);

    family(out, "freezeprobe_cgroup_write_latency_seconds", "histogram",
           "In-kernel latency of writes to cgroup control files, by file.");
    for (auto &[labels, h] : latency)
        histogram(out, "freezeprobe_cgroup_write_latency_seconds", labels, h);

    family(out, "freezeprobe_cgroup_write_lock_wait_seconds", "histogram",
           "Part of that latency spent waiting for the cgroup lock, by file (fentry and kprobe "
           "attach modes only).");
    for (auto &[labels, h] : lock_wait)
        histogram(out, "freezeprobe_cgroup_write_lock_wait_seconds", labels, h);

    family(out, "freezeprobe_freeze_held_total", "counter",
           "Freezes left in effect (frozen or freezing, never thawed) past --held-after.");
    fmt::format_to(std::back_inserter(out), "freezeprobe_freeze_held_total {}\n",
                   aggregator.held());

    family(out, "freezeprobe_events_lost_total", "counter",
           "Events the kernel could not queue to freezeprobe.");
    fmt::format_to(std::back_inserter(out), "freezeprobe_events_lost_total {}\n",
                   aggregator.events_lost());

    family(out, "freezeprobe_freeze_stalls_total", "counter",
           "Freezes still pending after --stall-after (a freeze_stall event each).");
    fmt::format_to(std::back_inserter(out), "freezeprobe_freeze_stalls_total {}\n",
                   aggregator.stalls());

    family(out, "freezeprobe_container_series_dropped_total", "counter",
           fmt::format("Containers whose freeze_episodes_total series were dropped, least "
                       "recently changed first, to keep those of at most {} containers.",
                       Aggregator::max_containers));
    fmt::format_to(std::back_inserter(out), "freezeprobe_container_series_dropped_total {}\n",
                   aggregator.containers_dropped());
    return out;
}

} // namespace freezeprobe
