#include "cgroup_resolver.h"

#include <filesystem>
#include <sys/stat.h>

namespace freezeprobe {

namespace fs = std::filesystem;

CgroupResolver::CgroupResolver(std::vector<Hierarchy> hierarchies)
    : hierarchies_(std::move(hierarchies)) {}

std::optional<std::string> CgroupResolver::path(const Hierarchy &h, std::uint64_t cgroup_id) {
    Key key{h.dev, cgroup_id};
    if (auto it = paths_.find(key); it != paths_.end())
        return it->second;
    auto now = Clock::now();
    auto last = last_scan_.find(h.dev);
    if (last != last_scan_.end() && now - last->second < min_rescan_interval)
        return std::nullopt;
    last_scan_[h.dev] = now;
    rescan(h);
    if (auto it = paths_.find(key); it != paths_.end())
        return it->second;
    return std::nullopt;
}

void CgroupResolver::learn(const Hierarchy &h, std::uint64_t cgroup_id, std::string path) {
    if (path.empty())
        return;
    paths_[Key{h.dev, cgroup_id}] = std::move(path);
}

void CgroupResolver::forget_later(const Hierarchy &h, std::uint64_t cgroup_id,
                                  Clock::time_point now) {
    removed_.emplace_back(now, Key{h.dev, cgroup_id});
    while (removed_.size() > max_removed_kept || now - removed_.front().first >= removed_ttl) {
        paths_.erase(removed_.front().second);
        removed_.pop_front();
    }
}

// On 64-bit kernels a kernfs directory's inode number is its kernfs id, which is the cgroup id.
void CgroupResolver::rescan(const Hierarchy &h) {
    std::error_code ec;
    struct stat st {};
    if (::stat(h.mount_point.c_str(), &st) == 0)
        paths_[Key{h.dev, st.st_ino}].assign(1, '/'); // not = "/": GCC 12 -Wrestrict false positive
    fs::recursive_directory_iterator it(h.mount_point,
                                        fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_directory(ec) || it->is_symlink(ec))
            continue;
        if (::lstat(it->path().c_str(), &st) != 0)
            continue;
        auto rel = it->path().lexically_relative(h.mount_point).string();
        paths_[Key{h.dev, st.st_ino}] = "/" + rel;
    }
}

} // namespace freezeprobe
