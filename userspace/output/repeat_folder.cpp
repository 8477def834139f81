#include "repeat_folder.h"

#include "text_util.h"

#include <fmt/format.h>

namespace freezeprobe {

std::optional<RepeatFolder::Key> RepeatFolder::key_of(const Event &event) {
    if (!event.cgroup)
        return std::nullopt;
    if (auto *f = std::get_if<FreezeWrite>(&event.body))
        return Key{"freeze_write", event.cgroup->id, f->value, f->err, f->writer.pid};
    if (auto *p = std::get_if<ProcsWrite>(&event.body))
        return Key{"procs_write", event.cgroup->id, p->value, p->err, p->writer.pid};
    return std::nullopt;
}

std::string repeat_subject(const Event &event) {
    const Task *writer = nullptr;
    std::string what;
    if (auto *f = std::get_if<FreezeWrite>(&event.body)) {
        writer = &f->writer;
        what = fmt::format("freeze_write \"{}\"", escape_for_terminal(f->value));
    } else if (auto *p = std::get_if<ProcsWrite>(&event.body)) {
        writer = &p->writer;
        what =
            fmt::format("procs_write {} \"{}\"", file_name(p->file), escape_for_terminal(p->value));
    }
    if (!writer)
        return "";
    return fmt::format("{} by {}[{}]", what, escape_for_terminal(writer->comm), writer->pid);
}

std::string RepeatFolder::fold_note(const Run &run) {
    return fmt::format("  ... {} more identical {} within 1 s (folded; --events json shows each)",
                       run.folded, run.note);
}

void RepeatFolder::notes_for_cgroup(std::uint64_t cgroup_id, std::vector<std::string> &out) {
    for (auto &[key, run] : runs_) {
        if (std::get<1>(key) != cgroup_id || !run.folded)
            continue;
        out.push_back(fold_note(run));
        run.folded = 0;
    }
}

std::vector<std::string> RepeatFolder::finish() {
    std::vector<std::string> out;
    for (auto &[key, run] : runs_)
        if (run.folded)
            out.push_back(fold_note(run));
    runs_.clear();
    return out;
}

} // namespace freezeprobe
