#include "private_layout.h"

#include "cgroup_hierarchies.h"
#include "text_util.h"

#include <cstring>
#include <fmt/format.h>
#include <sched.h>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <system_error>

namespace freezeprobe {
namespace {

void check(int rc, const std::string &step) {
    if (rc != 0)
        throw std::system_error(errno, std::generic_category(), step);
}

void make_dir(const std::string &path) {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::system_error(errno, std::generic_category(), "mkdir " + path);
}

std::string base_name(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The super options of init's cgroup2 mount without rw/ro ("nsdelegate,memory_recursiveprot"),
// or "" when it has none.
std::string cgroup2_options_of_init() {
    std::ifstream in("/proc/1/mountinfo");
    std::ostringstream text;
    text << in.rdbuf();
    auto init = parse_cgroup_mounts(text.str());
    const Hierarchy *v2 = find_v2(init);
    if (!v2)
        return "";
    std::string out;
    for (auto opt : split(v2->options, ','))
        if (opt != "rw" && opt != "ro" && !opt.empty())
            out += (out.empty() ? "" : ",") + std::string(opt);
    return out;
}

} // namespace

bool proc_cgroups_enables(std::string_view proc_cgroups, std::string_view controller) {
    for (auto line : split(proc_cgroups, '\n')) {
        if (line.starts_with("#"))
            continue;
        // subsys_name hierarchy num_cgroups enabled
        std::istringstream fields{std::string(line)};
        std::string name;
        int hierarchy = 0, count = 0, enabled = 0;
        if (fields >> name >> hierarchy >> count >> enabled && name == controller)
            return enabled == 1;
    }
    return false;
}

bool kernel_has_v1_controller(std::string_view controller) {
    std::ifstream in("/proc/cgroups");
    std::ostringstream text;
    text << in.rdbuf();
    return proc_cgroups_enables(text.str(), controller);
}

std::vector<std::string> enter_private_hybrid_layout() {
    std::vector<std::string> done;
    auto hierarchies = discover_hierarchies();
    check(::unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
          "making the new mount namespace private");
    // Keep each hierarchy on a private tmpfs (shadowing /tmp for a moment) while /sys/fs/cgroup is
    // replaced; cgroup2 is moved, never mounted anew (that would reset the host's mount options).
    const std::string stage = "/tmp";
    check(::mount("freezeprobe-demo", stage.c_str(), "tmpfs", 0, "mode=700"),
          "mounting a staging tmpfs on /tmp");
    std::vector<std::pair<std::string, std::string>> staged; // staging dir, name under the root
    bool have_freezer = false, have_devices = false, have_v2 = false;
    for (auto &h : hierarchies) {
        std::string name = h.version == 2 ? "unified" : base_name(h.mount_point);
        std::string dir = stage + "/" + name;
        if (h.version == 2 && have_v2)
            continue;
        make_dir(dir);
        check(::mount(h.mount_point.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr),
              "binding " + h.mount_point);
        staged.emplace_back(dir, name);
        have_v2 |= h.version == 2;
        have_freezer |= h.version == 1 && h.controllers.find("freezer") != std::string::npos;
        have_devices |= h.version == 1 && h.controllers.find("devices") != std::string::npos;
    }
    if (::umount2("/sys/fs/cgroup", MNT_DETACH) != 0 && errno != EINVAL)
        throw std::system_error(errno, std::generic_category(), "unmounting /sys/fs/cgroup");
    check(::mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755"),
          "mounting a tmpfs on /sys/fs/cgroup");
    for (auto &[dir, name] : staged) {
        auto target = "/sys/fs/cgroup/" + name;
        make_dir(target);
        check(::mount(dir.c_str(), target.c_str(), nullptr, MS_MOVE, nullptr), "moving " + name);
    }
    ::umount2(stage.c_str(), MNT_DETACH);
    done.push_back("/sys/fs/cgroup is a private hybrid layout (this process's own mount "
                   "namespace): the host's hierarchies, cgroup v2 at /sys/fs/cgroup/unified");
    // A v1 controller that no v1 hierarchy has is free to mount (the kernel re-uses a hierarchy
    // that already carries it); runc's v1 path needs the freezer and devices.
    for (auto [controller, have] :
         {std::pair{"freezer", have_freezer}, {"devices", have_devices}}) {
        if (have || !kernel_has_v1_controller(controller))
            continue;
        auto target = std::string("/sys/fs/cgroup/") + controller;
        make_dir(target);
        if (::mount("cgroup", target.c_str(), "cgroup", 0, controller) == 0)
            done.push_back(
                fmt::format("mounted a private v1 {} hierarchy at {}", controller, target));
        else if (std::string_view(controller) == "freezer")
            throw std::system_error(errno, std::generic_category(), "mounting the v1 freezer");
        else
            done.push_back(fmt::format("could not mount the v1 {} hierarchy: {}", controller,
                                       std::strerror(errno)));
    }
    if (!have_v2) {
        // A new cgroup2 mount applies its options to the one cgroup2 superblock, for the whole
        // host: take them from a cgroup2 mount of init's namespace, if it has one (hidden here),
        // so that none is reset (nsdelegate, memory_recursiveprot...).
        auto options = cgroup2_options_of_init();
        make_dir("/sys/fs/cgroup/unified");
        check(::mount("cgroup2", "/sys/fs/cgroup/unified", "cgroup2", 0,
                      options.empty() ? nullptr : options.c_str()),
              "mounting cgroup2");
        done.push_back("mounted cgroup v2 at /sys/fs/cgroup/unified" +
                       (options.empty() ? std::string() : " (options " + options + ")"));
    }
    return done;
}

} // namespace freezeprobe
