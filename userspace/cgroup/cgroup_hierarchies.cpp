#include "cgroup_hierarchies.h"

#include "read_file.h"
#include "text_util.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace freezeprobe {
namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_octal(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            auto digits = s.substr(i + 1, 3);
            if (digits.size() == 3 && std::all_of(digits.begin(), digits.end(),
                                                  [](char c) { return c >= '0' && c <= '7'; })) {
                out.push_back(static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 +
                                                (digits[2] - '0')));
                i += 3;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::optional<std::uint32_t> to_u32(std::string_view s) {
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

bool has_option(std::string_view options, std::string_view want) {
    for (auto opt : split(options, ','))
        if (opt == want)
            return true;
    return false;
}

} // namespace

std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo) {
    std::vector<Hierarchy> found;
    std::vector<bool> at_root;
    for (auto line : split(mountinfo, '\n')) {
        // id parent major:minor root mount-point options [optional...] - fstype source
        // super-options
        auto fields = split(line, ' ');
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 6 || dash == fields.end() || fields.end() - dash < 4)
            continue;
        std::string_view fstype = dash[1];
        if (fstype != "cgroup" && fstype != "cgroup2")
            continue;
        auto colon = fields[2].find(':');
        auto major = to_u32(fields[2].substr(0, colon));
        auto minor =
            colon == std::string_view::npos ? std::nullopt : to_u32(fields[2].substr(colon + 1));
        if (!major || !minor)
            continue;
        Hierarchy h;
        h.version = fstype == "cgroup2" ? 2 : 1;
        h.hierarchy_id = h.version == 2 ? 0 : -1;
        h.dev = kernel_dev(*major, *minor);
        h.mount_point = unescape_octal(fields[4]);
        h.options = std::string(dash[3]);
        bool root = fields[3] == "/";
        auto same = std::find_if(found.begin(), found.end(),
                                 [&](const Hierarchy &o) { return o.dev == h.dev; });
        if (same == found.end()) {
            found.push_back(std::move(h));
            at_root.push_back(root);
        } else if (root && !at_root[same - found.begin()]) {
            // A bind mount of a sub-cgroup came first; the root mount gives whole paths.
            *same = std::move(h);
            at_root[same - found.begin()] = true;
        }
    }
    return found;
}

void assign_hierarchy_ids(std::vector<Hierarchy> &hierarchies, std::string_view proc_cgroup) {
    for (auto line : split(proc_cgroup, '\n')) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string_view::npos || second == std::string_view::npos)
            continue;
        auto id = to_u32(line.substr(0, first));
        auto controllers = line.substr(first + 1, second - first - 1);
        if (!id || *id == 0 || controllers.empty())
            continue;
        for (auto &h : hierarchies) {
            if (h.version != 1)
                continue;
            auto names = split(controllers, ',');
            if (std::all_of(names.begin(), names.end(),
                            [&](std::string_view n) { return has_option(h.options, n); })) {
                h.hierarchy_id = static_cast<int>(*id);
                h.controllers = std::string(controllers);
            }
        }
    }
}

std::vector<Hierarchy> discover_hierarchies() {
    auto hierarchies = parse_cgroup_mounts(read_file("/proc/self/mountinfo"));
    assign_hierarchy_ids(hierarchies, read_file("/proc/self/cgroup"));
    return hierarchies;
}

const Hierarchy *find_by_dev(const std::vector<Hierarchy> &hierarchies, std::uint32_t dev) {
    for (auto &h : hierarchies)
        if (h.dev == dev)
            return &h;
    return nullptr;
}

const Hierarchy *find_by_id(const std::vector<Hierarchy> &hierarchies, int hierarchy_id) {
    for (auto &h : hierarchies)
        if (h.hierarchy_id == hierarchy_id)
            return &h;
    return nullptr;
}

const Hierarchy *find_v1_controller(const std::vector<Hierarchy> &hierarchies,
                                    std::string_view controller) {
    for (auto &h : hierarchies)
        if (h.version == 1 && has_option(h.options, controller))
            return &h;
    return nullptr;
}

const Hierarchy *find_v2(const std::vector<Hierarchy> &hierarchies) {
    for (auto &h : hierarchies)
        if (h.version == 2)
            return &h;
    return nullptr;
}

} // namespace freezeprobe
