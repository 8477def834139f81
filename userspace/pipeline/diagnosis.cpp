#include "diagnosis.h"

#include "container_names.h"
#include "text_util.h"
#include "time_format.h"

#include <fmt/format.h>

namespace freezeprobe {
namespace {

// What a wait channel (or the top of the stack) usually means for a freeze.
std::string hint(const std::string &where, const std::string &state) {
    struct Hint {
        const char *needle;
        const char *meaning;
    };
    static const Hint hints[] = {
        {"fuse", "waiting for a FUSE daemon to answer"},
        {"request_wait_answer", "waiting for a FUSE daemon to answer"},
        {"rwsem", "waiting for a kernel read-write semaphore"},
        {"mutex", "waiting for a kernel mutex"},
        {"io_schedule", "waiting for block I/O"},
        {"folio_wait", "waiting for block I/O"},
        {"nfs", "waiting for NFS"},
        {"rpc_wait", "waiting for an RPC (NFS?)"},
        {"pipe", "waiting on a pipe"},
    };
    for (auto &h : hints)
        if (where.find(h.needle) != std::string::npos)
            return h.meaning;
    if (state == "R")
        return "running: busy in the kernel or on a CPU";
    if (state == "D")
        return "in an uninterruptible sleep the freezer cannot break";
    return "";
}

std::string counts_text(const EpisodeCounts &c) {
    std::string text = fmt::format("{} freeze write{}", c.writes, c.writes == 1 ? "" : "s");
    if (c.thaws)
        text += fmt::format(", {} thaw{}", c.thaws, c.thaws == 1 ? "" : "s");
    if (c.reads)
        text += fmt::format(", {} state read{}", c.reads, c.reads == 1 ? "" : "s");
    return text;
}

std::string writer_text(const Task &w) {
    auto text = fmt::format("{}[{}]", escape_for_terminal(w.comm), w.pid);
    if (w.parent)
        text += fmt::format(" (from {}[{}])", escape_for_terminal(w.parent->comm), w.parent->pid);
    return text;
}

// "A[1] (3), B[2] (2) and C[3] (1)", then ", and others (N)" for what the list leaves out.
template <typename Who, typename Count>
std::string who_text(const std::vector<Who> &who, Count count, std::uint64_t total) {
    std::string text;
    std::uint64_t listed = 0;
    for (std::size_t i = 0; i < who.size(); ++i) {
        text += fmt::format("{}{}[{}] ({})",
                            i == 0                ? ""
                            : i + 1 == who.size() ? " and "
                                                  : ", ",
                            escape_for_terminal(who[i].comm), who[i].pid, count(who[i]));
        listed += count(who[i]);
    }
    if (!who.empty() && total > listed)
        text += fmt::format(", and others ({})", total - listed);
    return text;
}

// "; 40 processes joined while it was freezing, written by runc[4242] (38) and containerd-shim[77]
// (2); 300 tasks were forked in it while it was freezing, by sh[90] (300)": tasks joining or being
// forked into a freezing cgroup are what runc's retry loop cannot outrun on old kernels, and a scan
// then names whichever newcomer it caught.
std::string joins_text(const EpisodeCounts &c, const std::vector<Joiner> &joiners,
                       const std::vector<Forker> &forkers, bool froze) {
    if (c.joins == 0 && c.forks == 0)
        return "";
    const char *phase = froze ? "pending" : "freezing";
    std::string text;
    if (c.joins) {
        text += fmt::format("; {} process{} joined while it was {}", c.joins,
                            c.joins == 1 ? "" : "es", phase);
        if (!joiners.empty())
            text += ", written by " + who_text(
                                          joiners, [](auto &j) { return j.joins; }, c.joins);
    }
    if (c.forks) {
        text += fmt::format("; {} task{} forked in it while it was {}", c.forks,
                            c.forks == 1 ? " was" : "s were", phase);
        if (!forkers.empty())
            text += ", by " + who_text(
                                  forkers, [](auto &f) { return f.forks; }, c.forks);
    }
    if (!froze && c.joins + c.forks >= 2)
        text += fmt::format(": a {} storm, so blockers named below may be newcomers rather than "
                            "the cause",
                            c.forks == 0   ? "join"
                            : c.joins == 0 ? "fork"
                                           : "join and fork");
    return text;
}

std::string blockers_text(const std::vector<Blocker> &blockers) {
    if (blockers.empty())
        return "no blocking task was caught while it was pending";
    std::string text = fmt::format("{} task{} not frozen: ", blockers.size(),
                                   blockers.size() == 1 ? " is" : "s are");
    for (std::size_t i = 0; i < blockers.size() && i < 3; ++i)
        text += (i ? "; " : "") + describe_blocker(blockers[i]);
    if (blockers.size() > 3)
        text += fmt::format("; and {} more", blockers.size() - 3);
    return text;
}

} // namespace

std::string cgroup_subject(const CgroupRef &c) {
    auto path = c.path ? escape_for_terminal(*c.path) : fmt::format("<id {}>", c.id);
    if (!c.container)
        return fmt::format("cgroup v{} {}", c.version, path);
    if (auto name = kubernetes_name(*c.container))
        return fmt::format("container {} ({})", escape_for_terminal(*name),
                           c.container->id.substr(0, 12));
    std::string text = fmt::format("container {}", c.container->id.substr(0, 12));
    if (c.container->pod_uid)
        text += fmt::format(" (pod {})", *c.container->pod_uid);
    return text;
}

std::string describe_blocker(const Blocker &b) {
    std::string where = b.wchan.empty() || b.wchan == "0" ? "" : b.wchan;
    if (where.empty() && !b.stack.empty())
        where = b.stack.front().substr(0, b.stack.front().find('+'));
    std::string text = fmt::format("pid {}", b.pid);
    if (b.tid != b.pid)
        text += fmt::format(" tid {}", b.tid);
    text += fmt::format(" ({}) in state {}", escape_for_terminal(b.comm), b.state);
    if (!where.empty())
        text += " at " + escape_for_terminal(where);
    std::string stack_where;
    for (auto &f : b.stack)
        stack_where += f + " ";
    if (b.cause) {
        text += ", " + escape_for_terminal(b.cause->detail);
        if (b.cause->hint)
            text += " (to unblock: " + *b.cause->hint + ")";
    } else if (auto h = hint(where + " " + stack_where, b.state); !h.empty()) {
        text += ", " + h;
    }
    if (b.container && b.cgroup) {
        auto name = kubernetes_name(*b.container);
        text += fmt::format(" (container {})",
                            name ? escape_for_terminal(*name) : b.container->id.substr(0, 12));
    }
    return text;
}

std::string stall_diagnosis(const CgroupRef &cgroup, const FreezeStall &s) {
    return fmt::format("Freeze of {} requested by {} is still pending after {} ({}){}; {}.",
                       cgroup_subject(cgroup), writer_text(s.writer), human_duration(s.elapsed_ns),
                       counts_text(s.counts), joins_text(s.counts, s.joiners, s.forkers, false),
                       blockers_text(s.blockers));
}

std::string held_diagnosis(const CgroupRef &cgroup, const FreezeHeld &h) {
    return fmt::format("Freeze of {} requested by {} has been in effect for {} ({}) and nobody "
                       "thawed it; {}; the writer {}.",
                       cgroup_subject(cgroup), writer_text(h.writer), human_duration(h.duration_ns),
                       counts_text(h.counts),
                       h.frozen ? "the cgroup is frozen" : "the cgroup is still freezing",
                       h.writer_running ? "is still running" : "has exited");
}

std::string episode_diagnosis(const CgroupRef &cgroup, const FreezeEpisode &e) {
    auto who =
        fmt::format("Freeze of {} requested by {}", cgroup_subject(cgroup), writer_text(e.writer));
    auto took = human_duration(e.duration_ns);
    switch (e.outcome) {
    case EpisodeOutcome::frozen:
        return fmt::format("{} completed in {} ({}){}.", who, took, counts_text(e.counts),
                           joins_text(e.counts, e.joiners, e.forkers, true));
    case EpisodeOutcome::thawed:
        return fmt::format("{} was thawed {} after it was asked for ({}).", who, took,
                           counts_text(e.counts));
    case EpisodeOutcome::aborted:
        return fmt::format("{} was given up after {} without ever completing ({}){}; {}.", who,
                           took, counts_text(e.counts),
                           joins_text(e.counts, e.joiners, e.forkers, false),
                           blockers_text(e.blockers));
    case EpisodeOutcome::removed:
        return fmt::format("{} ended after {} because the cgroup was removed ({}).", who, took,
                           counts_text(e.counts));
    case EpisodeOutcome::open:
        break;
    }
    return fmt::format("{} was still pending after {} when freezeprobe stopped ({}){}; {}.", who,
                       took, counts_text(e.counts),
                       joins_text(e.counts, e.joiners, e.forkers, false),
                       blockers_text(e.blockers));
}

} // namespace freezeprobe
