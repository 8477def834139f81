#include "live_view.h"

#include "diagnosis.h"
#include "text_util.h"
#include "time_format.h"

#include <algorithm>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

std::string cut(std::string s, std::size_t width) {
    if (s.size() > width)
        s.resize(width);
    return s;
}

std::string episode_counts(const CgroupStats &s) {
    std::string text;
    for (auto &[outcome, n] : s.episodes)
        text += fmt::format("{}{} {}", text.empty() ? "" : ", ", outcome, n);
    return text.empty() ? "no freezes" : text;
}

std::string write_counts(const CgroupStats &s) {
    std::uint64_t writes = 0;
    std::string errors;
    for (auto &[file, f] : s.files) {
        writes += f.count;
        for (auto &[name, n] : f.errors)
            errors += fmt::format(" {}x{}", n, name);
    }
    return fmt::format("{} writes{}", writes, errors.empty() ? "" : ", errors:" + errors);
}

} // namespace

std::vector<std::string> status_table(const Aggregator &aggregates,
                                      const std::vector<PendingEpisode> &pending,
                                      std::uint64_t now_mono_ns, std::size_t max_rows,
                                      std::size_t width) {
    std::vector<std::string> lines;
    lines.push_back(
        cut(fmt::format("── freezeprobe: {} cgroups seen, {} freezes pending, {} events "
                        "lost ──",
                        aggregates.cgroups().size(), pending.size(), aggregates.events_lost()),
            width));
    for (auto &p : pending) {
        if (lines.size() > max_rows)
            break;
        lines.push_back(cut(
            fmt::format("PENDING {:>8}  {}  {}", human_duration(now_mono_ns - p.start_ns),
                        cgroup_subject(p.cgroup),
                        !p.has_blockers ? std::string()
                        : p.first_cause
                            ? fmt::format("(blocked: {}: {})", cause_kind_name(p.first_cause->kind),
                                          escape_for_terminal(p.first_cause->detail))
                            : std::string("(blockers found: see the stall line)")),
            width));
    }
    std::vector<const CgroupStats *> recent;
    for (auto &[key, s] : aggregates.cgroups())
        recent.push_back(&s);
    std::sort(recent.begin(), recent.end(),
              [](auto *a, auto *b) { return a->last_time_ns > b->last_time_ns; });
    for (auto *s : recent) {
        if (lines.size() > max_rows)
            break;
        lines.push_back(cut(fmt::format("        {}  {}; {}", cgroup_subject(s->cgroup),
                                        episode_counts(*s), write_counts(*s)),
                            width));
    }
    return lines;
}

std::size_t LiveView::width() const {
    winsize ws{};
    if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col - 1;
    return 119;
}

void LiveView::clear() {
    if (drawn_) // up to the table's first line, then erase to the end of the screen
        std::fprintf(out_, "\x1b[%zuA\r\x1b[J", drawn_);
    drawn_ = 0;
}

void LiveView::draw() {
    for (auto &l : table_)
        std::fprintf(out_, "%s\n", l.c_str());
    drawn_ = table_.size();
}

void LiveView::line(const std::string &text) {
    clear();
    std::fprintf(out_, "%s\n", text.c_str());
    draw();
}

void LiveView::table(std::vector<std::string> lines) {
    clear();
    table_ = std::move(lines);
    draw();
}

} // namespace freezeprobe
