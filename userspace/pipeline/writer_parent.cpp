#include "writer_parent.h"

#include "blocker_scan.h"
#include "read_file.h"

#include <charconv>

namespace freezeprobe {

std::optional<std::uint32_t> parse_stat_ppid(const std::string &stat_text) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so from the last ')'.
    auto close = stat_text.rfind(')');
    if (close == std::string::npos || close + 4 >= stat_text.size())
        return std::nullopt;
    auto start = stat_text.find(' ', close + 2); // after the state letter
    if (start == std::string::npos)
        return std::nullopt;
    ++start;
    std::uint32_t ppid = 0;
    auto end = stat_text.data() + stat_text.size();
    auto [ptr, ec] = std::from_chars(stat_text.data() + start, end, ppid);
    if (ec != std::errc() || ptr == stat_text.data() + start || (ptr != end && *ptr != ' '))
        return std::nullopt;
    return ppid;
}

std::optional<TaskParent> WriterParents::read(std::uint32_t pid, std::uint32_t tid,
                                              const std::string &comm) const {
    auto stat =
        read_file(proc_ + "/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    std::string own_comm, state;
    if (!parse_proc_stat(stat, own_comm, state) || own_comm != comm)
        return std::nullopt;
    auto ppid = parse_stat_ppid(stat);
    if (!ppid || *ppid == 0)
        return std::nullopt;
    std::string parent_comm;
    if (!parse_proc_stat(read_file(proc_ + "/" + std::to_string(*ppid) + "/stat"), parent_comm,
                         state))
        return std::nullopt;
    return TaskParent{*ppid, parent_comm};
}

std::optional<TaskParent> WriterParents::of(std::uint32_t pid, std::uint32_t tid,
                                            const std::string &comm) {
    if (auto it = cache_.find(tid); it != cache_.end() && it->second.first == comm)
        return it->second.second;
    if (cache_.size() >= 1024)
        cache_.clear();
    auto parent = read(pid, tid, comm);
    cache_[tid] = {comm, parent};
    return parent;
}

} // namespace freezeprobe
