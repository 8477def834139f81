#include "bpf_objects.h"

#include "subprocess.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace freezeprobe::testing {
namespace {

const char *const bpftool = "/usr/sbin/bpftool";

nlohmann::json bpftool_json(const std::vector<std::string> &args) {
    std::vector<std::string> argv{bpftool, "-j"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv);
    if (r.exit_code != 0)
        throw std::runtime_error("bpftool failed (" + std::to_string(r.exit_code) + "): " + r.err);
    auto j = nlohmann::json::parse(r.out.empty() ? "[]" : r.out);
    if (!j.is_array())
        throw std::runtime_error("bpftool printed no array: " + r.out);
    return j;
}

// Every object the kernel has now.
BpfObjects all_objects() {
    BpfObjects out;
    for (auto [kind, set] : {std::pair{"prog", &out.progs}, std::pair{"map", &out.maps},
                             std::pair{"link", &out.links}})
        for (auto &o : bpftool_json({kind, "show"}))
            set->insert(o["id"].get<std::uint32_t>());
    return out;
}

std::uint32_t u32_of(const nlohmann::json &key) {
    if (key.is_number())
        return key.get<std::uint32_t>();
    std::uint32_t v = 0; // ["0x01","0x00","0x00","0x00"], little-endian
    for (std::size_t i = 0; i < key.size() && i < 4; ++i)
        v |= static_cast<std::uint32_t>(std::stoul(key[i].get<std::string>(), nullptr, 16))
             << (8 * i);
    return v;
}

} // namespace

BpfObjects bpf_objects() {
    return all_objects();
}

// The kernel's own record of each descriptor (/proc/PID/fdinfo/N: "prog_id:", "map_id:" or
// "link_id:"); bpftool 7.1 as built by Debian cannot name the processes that hold an object.
BpfObjects bpf_objects_of(pid_t pid) {
    BpfObjects out;
    std::error_code ec;
    for (auto &fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo", ec)) {
        std::ifstream in(fd.path());
        for (std::string line; std::getline(in, line);)
            for (auto [key, set] :
                 {std::pair{"prog_id:", &out.progs}, std::pair{"map_id:", &out.maps},
                  std::pair{"link_id:", &out.links}})
                if (line.starts_with(key))
                    set->insert(
                        static_cast<std::uint32_t>(std::stoul(line.substr(std::strlen(key)))));
    }
    return out;
}

BpfObjects still_existing(const BpfObjects &ids) {
    auto now = all_objects();
    BpfObjects out;
    for (auto [want, have, left] : {std::tuple{&ids.progs, &now.progs, &out.progs},
                                    std::tuple{&ids.maps, &now.maps, &out.maps},
                                    std::tuple{&ids.links, &now.links, &out.links}})
        for (auto id : *want)
            if (have->contains(id))
                left->insert(id);
    return out;
}

std::uint32_t bpf_map_id(pid_t pid, const std::string &name) {
    auto held = bpf_objects_of(pid).maps;
    for (auto &m : bpftool_json({"map", "show"}))
        if (held.contains(m["id"].get<std::uint32_t>()) &&
            name.compare(0, 15, m.value("name", "")) == 0)
            return m["id"].get<std::uint32_t>();
    throw std::runtime_error("process " + std::to_string(pid) + " holds no map named " + name);
}

std::vector<std::uint32_t> bpf_map_u32_keys(std::uint32_t map_id) {
    std::vector<std::uint32_t> keys;
    for (auto &entry : bpftool_json({"map", "dump", "id", std::to_string(map_id)}))
        keys.push_back(
            u32_of(entry.contains("formatted") ? entry["formatted"]["key"] : entry["key"]));
    return keys;
}

std::string describe(const BpfObjects &objects) {
    std::string out;
    for (auto [kind, set] : {std::pair{"prog", &objects.progs}, std::pair{"map", &objects.maps},
                             std::pair{"link", &objects.links}})
        for (auto id : *set)
            out += std::string(out.empty() ? "" : ", ") + kind + " " + std::to_string(id);
    return out.empty() ? "none" : out;
}

} // namespace freezeprobe::testing
