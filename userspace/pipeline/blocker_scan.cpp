#include "blocker_scan.h"

#include "bpf_probe.h"
#include "cause_resolver.h"
#include "container_resolver.h"
#include "read_file.h"
#include "text_util.h"

#include <filesystem>
#include <sstream>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

struct Member {
    std::uint32_t tid;
    std::string cgroup; // from the hierarchy root
};

// Every thread of the cgroup and its descendants, with the cgroup it is in.
std::vector<Member> members(const Hierarchy &h, const std::string &cgroup_path) {
    std::vector<Member> out;
    const char *list = h.version == 1 ? "tasks" : "cgroup.threads";
    auto add = [&](const fs::path &dir) {
        std::istringstream tids(read_file((dir / list).string()));
        auto rel = "/" + dir.lexically_relative(h.mount_point).string();
        if (rel == "/.")
            rel = "/";
        for (std::uint32_t tid; tids >> tid;)
            out.push_back(Member{tid, rel});
    };
    fs::path top = h.mount_point + (cgroup_path == "/" ? "" : cgroup_path);
    std::error_code ec;
    add(top);
    for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec))
            add(it->path());
    return out;
}

std::string read_proc(std::uint32_t tid, const char *file) {
    return read_file("/proc/" + std::to_string(tid) + "/" + file);
}

std::uint32_t tgid_of(std::uint32_t tid) {
    std::istringstream status(read_proc(tid, "status"));
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("Tgid:"))
            return static_cast<std::uint32_t>(std::stoul(line.substr(5)));
    return tid;
}

// Without the iterator: frozen v1 tasks sleep in __refrigerator, frozen v2 tasks in the
// freezer trap of get_signal. A v1 task frozen in place (e.g. a vfork parent) is missed.
bool looks_frozen(int version, const std::string &state, const std::string &wchan) {
    if (state == "T" || state == "t" || state == "Z" || state == "X")
        return true;
    if (version == 1)
        return wchan == "__refrigerator";
    return wchan == "do_freezer_trap" || wchan == "get_signal";
}

} // namespace

bool parse_proc_stat(const std::string &text, std::string &comm, std::string &state) {
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open ||
        close + 2 >= text.size())
        return false;
    comm = text.substr(open + 1, close - open - 1);
    state = text.substr(close + 2, 1);
    return true;
}

std::vector<std::string> parse_kernel_stack(const std::string &text) {
    std::vector<std::string> frames;
    for (auto line : split(text, '\n')) {
        auto frame = trim(line);
        if (auto end = frame.find("] "); frame.starts_with("[<") && end != std::string_view::npos)
            frame.remove_prefix(end + 2);
        if (!frame.empty())
            frames.emplace_back(frame);
    }
    return frames;
}

BlockerScanner::BlockerScanner() {
    try {
        tasks_ = TaskScanner::load();
        method_ = "task iterator";
    } catch (const ProbeError &e) {
        method_ = std::string("/proc heuristics (") + e.what() + ")";
    }
}

BlockerScanner::~BlockerScanner() = default;

BlockerScan BlockerScanner::scan(const Hierarchy &h, const std::string &cgroup_path,
                                 bool cgroup_reads_freezing) const {
    BlockerScan out;
    if (!tasks_ && !cgroup_reads_freezing)
        return out; // /proc would list every thawed task as a blocker
    out.scanned = true;
    auto found = members(h, cgroup_path);
    std::map<std::uint32_t, TaskFreezeState> states;
    if (tasks_) {
        std::vector<std::uint32_t> tids;
        for (auto &m : found)
            tids.push_back(m.tid);
        states = tasks_->snapshot(tids);
        out.freezing = false;
    }
    for (auto &m : found) {
        if (out.blockers.size() >= max_blockers)
            break;
        Blocker b;
        b.tid = m.tid;
        if (tasks_) {
            auto s = states.find(m.tid);
            if (s == states.end())
                continue; // not asked to freeze (the iterator lists only those), or gone
            auto &t = s->second;
            if (!(h.version == 1 ? t.v1_freezing : t.v2_freezing))
                continue; // thawed, or moved out meanwhile: not held up, and not holding up
            out.freezing = true;
            if (t.exiting || t.stopped_or_traced() || (h.version == 1 ? t.v1_frozen : t.v2_frozen))
                continue;
            b.pid = t.pid;
        }
        if (!parse_proc_stat(read_proc(m.tid, "stat"), b.comm, b.state))
            continue; // gone
        b.wchan = std::string(trim(read_proc(m.tid, "wchan")));
        b.stack = parse_kernel_stack(read_proc(m.tid, "stack"));
        // Before 5.16, x86 kernels built with the ORC unwinder (Debian 11's) print "0" as every
        // task's wchan; the first frame of its kernel stack (which omits the scheduler's own
        // functions) is the same place.
        if ((b.wchan.empty() || b.wchan == "0") && !b.stack.empty())
            b.wchan = b.stack.front().substr(0, b.stack.front().find('+'));
        if (!tasks_) {
            if (looks_frozen(h.version, b.state, b.wchan))
                continue;
            b.pid = tgid_of(m.tid);
        }
        b.cgroup = m.cgroup;
        b.container = resolve_container(m.cgroup);
        b.cause = classify_blocker(b);
        out.blockers.push_back(std::move(b));
    }
    return out;
}

} // namespace freezeprobe
