#include "text_output.h"

#include "container_names.h"
#include "errno_name.h"
#include "text_util.h"
#include "time_format.h"
#include "written_value.h"

#include <fmt/format.h>

namespace freezeprobe {
namespace {

// "container fba1ff5a6409 (containerd, pod 1f8d...) v2 /kubepods/..." : the short facts first,
// the long path last; with Kubernetes names "container default/web/nginx (fba1ff5a6409, ...".
std::string path_text(const CgroupRef &c) {
    // The kernel allows only [A-Za-z0-9_.-] in a v1 hierarchy name, but escaping costs nothing.
    auto hierarchy = c.controllers.empty()
                         ? fmt::format("v{}", c.version)
                         : fmt::format("v{}[{}]", c.version, escape_for_terminal(c.controllers));
    return fmt::format("{} {}", hierarchy,
                       c.path ? escape_for_terminal(*c.path)
                              : fmt::format("<cgroup id {}, path unknown>", c.id));
}

std::string cgroup_text(const CgroupRef &c) {
    std::string text;
    if (c.container) {
        auto id = c.container->id.substr(0, 12);
        auto name = kubernetes_name(*c.container);
        text = "container " + (name ? escape_for_terminal(*name) : id);
        std::string details = name ? id : "";
        auto add = [&](const std::string &detail) {
            details += (details.empty() ? "" : ", ") + detail;
        };
        if (c.container->runtime)
            add(*c.container->runtime);
        if (c.container->pod_uid)
            add("pod " + *c.container->pod_uid);
        if (!details.empty())
            text += " (" + details + ")";
        text += " ";
    }
    return text + path_text(c);
}

std::string outcome(int err, std::uint64_t latency_ns) {
    auto result = err ? errno_name(err).value_or("E" + std::to_string(err)) : std::string("ok");
    return fmt::format("{} in {}", result, human_duration(latency_ns));
}

std::string writer_text(const Task &t) {
    auto text = fmt::format("{}[{}/{}]", escape_for_terminal(t.comm), t.pid, t.tid);
    if (t.parent)
        text += fmt::format(" (from {}[{}])", escape_for_terminal(t.parent->comm), t.parent->pid);
    return text;
}

} // namespace

std::string to_text_line(const Event &event) {
    auto time = rfc3339_utc(event.time_ns);
    if (auto *l = std::get_if<Lost>(&event.body))
        return fmt::format("{} lost {} events: the kernel could not queue them (ring buffer full)",
                           time, l->count);
    // The diagnosis already names the container.
    if (auto *st = std::get_if<FreezeStall>(&event.body))
        return fmt::format("{} freeze_stall {} | {}", time, st->diagnosis,
                           path_text(*event.cgroup));
    if (auto *h = std::get_if<FreezeHeld>(&event.body))
        return fmt::format("{} freeze_held {} | {}", time, h->diagnosis, path_text(*event.cgroup));
    if (auto *ep = std::get_if<FreezeEpisode>(&event.body))
        return fmt::format("{} freeze_episode {}: {} | {}", time, outcome_name(ep->outcome),
                           ep->diagnosis, path_text(*event.cgroup));
    auto where = cgroup_text(*event.cgroup);
    if (auto *f = std::get_if<FreezeWrite>(&event.body))
        return fmt::format("{} freeze_write \"{}\": {} by {} | {}", time,
                           escape_for_terminal(f->value), outcome(f->err, f->latency_ns),
                           writer_text(f->writer), where);
    auto &p = std::get<ProcsWrite>(event.body);
    return fmt::format("{} procs_write {} \"{}\": {} by {}{} | {}", time, file_name(p.file),
                       escape_for_terminal(p.value), outcome(p.err, p.latency_ns),
                       writer_text(p.writer), p.during_freeze ? " during freeze" : "", where);
}

} // namespace freezeprobe
