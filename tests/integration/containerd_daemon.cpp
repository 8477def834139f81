#include "containerd_daemon.h"

#include "read_file.h"
#include "runc_container.h"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void write_file(const fs::path &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.flush())
        throw std::runtime_error("cannot write " + path.string());
}

std::string checked(const ProcessResult &r, const std::string &what) {
    if (r.exit_code != 0)
        throw std::runtime_error(what + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
    return r.out;
}

// run_process takes a path, not a name to look up.
std::string tool(const std::string &name) {
    auto path = find_program(name);
    if (!path)
        throw std::runtime_error(name + " is not installed");
    return *path;
}

// Stores a blob in an OCI layout; returns its descriptor's digest and size.
std::pair<std::string, std::uintmax_t> add_blob(const fs::path &layout, const fs::path &file) {
    auto out = checked(run_process({tool("sha256sum"), file.string()}), "sha256sum");
    auto hex = out.substr(0, 64);
    fs::copy_file(file, layout / "blobs" / "sha256" / hex, fs::copy_options::overwrite_existing);
    return {"sha256:" + hex, fs::file_size(file)};
}

} // namespace

bool containerd_installed() {
    return find_program("containerd") && find_program("ctr") &&
           find_program("containerd-shim-runc-v2");
}

ContainerdDaemon::ContainerdDaemon(fs::path dir) : dir_(std::move(dir)) {
    auto state = dir_ / "run" / "containerd";
    fs::create_directories(state);
    fs::create_directories(dir_ / "root");
    socket_ = (state / "containerd.sock").string();
    auto config = dir_ / "containerd.toml";
    write_file(config, fmt::format(R"(version = 2
root = "{}"
state = "{}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{}"
[ttrpc]
  address = "{}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
)",
                                   (dir_ / "root").string(), state.string(), socket_, socket_));
    auto containerd = *find_program("containerd");
    auto log = (dir_ / "containerd.log").string();
    // Its output to a log file, read when it fails to start.
    pid_ = spawn_process({containerd, "--config", config},
                         {ChildStdio::null,
                          false,
                          {},
                          [&log] {
                              int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                              ::dup2(fd, 1);
                              ::dup2(fd, 2);
                          }})
               .pid;
    for (auto until = std::chrono::steady_clock::now() + 10s;;) {
        if (fs::exists(socket_) && ctr({"version"}).exit_code == 0)
            break;
        if (std::chrono::steady_clock::now() > until) {
            auto text = read_file(log);
            stop();
            throw std::runtime_error("containerd did not start: " + text);
        }
        std::this_thread::sleep_for(100ms);
    }
}

ContainerdDaemon::~ContainerdDaemon() {
    for (auto it = containers_.rbegin(); it != containers_.rend(); ++it)
        remove(*it);
    stop();
}

ProcessResult ContainerdDaemon::ctr(const std::vector<std::string> &args) {
    std::vector<std::string> argv{*find_program("ctr"), "--address", socket_, "--namespace",
                                  "k8s.io"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, [] { ::close_range(3, ~0U, 0); });
}

std::string ContainerdDaemon::import_busybox() {
    auto work = dir_ / "image";
    auto rootfs = work / "rootfs";
    auto layout = work / "oci";
    fs::create_directories(rootfs / "bin");
    fs::create_directories(layout / "blobs" / "sha256");
    auto busybox = find_program("busybox");
    if (!busybox)
        throw std::runtime_error("busybox is not installed (busybox-static, tools/setup.sh)");
    fs::copy_file(*busybox, rootfs / "bin" / "busybox");
    for (auto applet : {"sh", "sleep", "cat"})
        fs::create_symlink("busybox", rootfs / "bin" / applet);
    auto layer = work / "layer.tar";
    checked(run_process({tool("tar"), "-C", rootfs.string(), "--owner=0", "--group=0",
                         "--numeric-owner", "-cf", layer.string(), "bin"}),
            "tar of the layer");
    auto [layer_digest, layer_size] = add_blob(layout, layer);
    write_file(
        work / "config.json",
        fmt::format(R"({{"architecture":"amd64","os":"linux","config":{{"Cmd":["/bin/sh"]}},)"
                    R"("rootfs":{{"type":"layers","diff_ids":["{}"]}}}})",
                    layer_digest));
    auto [config_digest, config_size] = add_blob(layout, work / "config.json");
    write_file(
        work / "manifest.json",
        fmt::format(
            R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("config":{{"mediaType":"application/vnd.oci.image.config.v1+json",)"
            R"("digest":"{}","size":{}}},"layers":[{{"mediaType":)"
            R"("application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}})",
            config_digest, config_size, layer_digest, layer_size));
    auto [manifest_digest, manifest_size] = add_blob(layout, work / "manifest.json");
    const std::string name = "localhost/freezeprobe-test/busybox:1";
    // ctr 1.6 names an imported OCI image by the io.containerd.image.name annotation.
    write_file(
        layout / "index.json",
        fmt::format(R"({{"schemaVersion":2,"manifests":[{{"mediaType":)"
                    R"("application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},)"
                    R"("annotations":{{"io.containerd.image.name":"{}",)"
                    R"("org.opencontainers.image.ref.name":"1"}}}}]}})",
                    manifest_digest, manifest_size, name));
    write_file(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    auto archive = work / "image.tar";
    checked(run_process({tool("tar"), "-C", layout.string(), "-cf", archive.string(), "oci-layout",
                         "index.json", "blobs"}),
            "tar of the image");
    checked(ctr({"image", "import", "--snapshotter", "native", archive.string()}), "ctr import");
    return name;
}

void ContainerdDaemon::run(const std::string &id, const std::string &cgroup,
                           const std::vector<std::pair<std::string, std::string>> &annotations,
                           const std::vector<std::string> &mounts,
                           const std::vector<std::string> &args) {
    // --cpu-shares 0: no resource in the spec. ctr's default (1024) would make runc write
    // cpu.shares (v1) or cpu.weight (v2), which a cgroup2 tree without the cpu controller lacks.
    std::vector<std::string> argv{"run",      "-d",   "--snapshotter", "native",
                                  "--cgroup", cgroup, "--cpu-shares",  "0"};
    for (auto &[key, value] : annotations) {
        argv.push_back("--annotation");
        argv.push_back(key + "=" + value);
    }
    for (auto &m : mounts) {
        argv.push_back("--mount");
        argv.push_back(m);
    }
    argv.push_back("localhost/freezeprobe-test/busybox:1");
    argv.push_back(id);
    argv.insert(argv.end(), args.begin(), args.end());
    containers_.push_back(id);
    checked(ctr(argv), "ctr run");
}

void ContainerdDaemon::remove(std::string id) {
    auto it = std::find(containers_.begin(), containers_.end(), id);
    if (it == containers_.end())
        return;
    containers_.erase(it);
    ctr({"task", "resume", id}); // fails when it is not paused
    auto killed = ctr({"task", "kill", "--signal", "SIGKILL", id});
    if (killed.exit_code != 0)
        std::cerr << "ctr task kill " << id << ": " << killed.err;
    for (int i = 0; i < 50; ++i) {
        auto r = ctr({"task", "delete", "--force", id});
        if (r.exit_code == 0 || r.err.find("not found") != std::string::npos)
            break;
        std::cerr << "ctr task delete " << id << ": " << r.err;
        std::this_thread::sleep_for(100ms);
    }
    auto r = ctr({"container", "delete", id});
    if (r.exit_code != 0)
        std::cerr << "ctr container delete " << id << ": " << r.err;
}

std::string ContainerdDaemon::bundle(const std::string &id) const {
    return (dir_ / "run" / "containerd" / "io.containerd.runtime.v2.task" / "k8s.io" / id).string();
}

const std::string &ContainerdDaemon::log() const {
    log_ = read_file((dir_ / "containerd.log").string());
    return log_;
}

void ContainerdDaemon::stop() noexcept {
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(100ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

} // namespace freezeprobe::testing
