#include "fuse_daemons.h"

#include "bpf_probe.h"
#include "fuse_daemons_bpf.skel.h"
#include "fuse_fd_record.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace freezeprobe {
namespace {

namespace fs = std::filesystem;

// Every process's descriptors that are the /dev/fuse character device (10:229).
std::vector<FuseFd> from_proc() {
    std::vector<FuseFd> out;
    std::error_code ec;
    for (fs::directory_iterator p("/proc", ec), end; !ec && p != end; p.increment(ec)) {
        auto name = p->path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        std::error_code fd_ec;
        for (fs::directory_iterator f(p->path() / "fd", fd_ec), fend; !fd_ec && f != fend;
             f.increment(fd_ec)) {
            // readlink only: stat() through the link could ask a hung FUSE daemon.
            auto target = fs::read_symlink(f->path(), ec);
            if (ec || target != "/dev/fuse")
                continue;
            out.push_back(
                FuseFd{static_cast<std::uint32_t>(std::stoul(name)),
                       static_cast<std::uint32_t>(std::stoul(f->path().filename().string())),
                       std::nullopt});
        }
    }
    return out;
}

} // namespace

std::vector<std::uint32_t> fuse_holders(const std::vector<FuseFd> &fds, std::uint32_t connection) {
    std::vector<std::uint32_t> pids;
    bool known = std::any_of(fds.begin(), fds.end(), [](auto &f) { return f.connection; });
    for (auto &f : fds)
        if (known ? f.connection == connection : true)
            pids.push_back(f.pid);
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    if (!known && pids.size() != 1)
        return {};
    return pids;
}

struct FuseDaemons::Impl {
    fuse_daemons_bpf *skel = nullptr;
    bpf_link *link = nullptr;
    ~Impl() {
        bpf_link__destroy(link);
        fuse_daemons_bpf::destroy(skel);
    }
};

FuseDaemons::FuseDaemons() {
    capture_libbpf_log(); // a kernel without the FUSE structs' BTF (5.10) refuses the program
    auto impl = std::make_unique<Impl>();
    impl->skel = fuse_daemons_bpf::open_and_load();
    if (!impl->skel) {
        method_ =
            std::string("/proc (loading the task-file iterator: ") + std::strerror(errno) + ")";
        return;
    }
    impl->link = bpf_program__attach_iter(impl->skel->progs.fuse_fds, nullptr);
    if (!impl->link) {
        method_ =
            std::string("/proc (attaching the task-file iterator: ") + std::strerror(errno) + ")";
        return;
    }
    impl_ = std::move(impl);
    method_ = "task-file iterator";
}

FuseDaemons::~FuseDaemons() = default;

std::vector<FuseFd> FuseDaemons::snapshot() const {
    if (!impl_)
        return from_proc();
    std::vector<FuseFd> out;
    int fd = bpf_iter_create(bpf_link__fd(impl_->link));
    if (fd < 0)
        return from_proc();
    std::vector<char> bytes;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
        bytes.insert(bytes.end(), buf, buf + n);
    ::close(fd);
    for (std::size_t off = 0; off + sizeof(fp_fuse_fd) <= bytes.size(); off += sizeof(fp_fuse_fd)) {
        fp_fuse_fd r;
        std::memcpy(&r, bytes.data() + off, sizeof(r));
        out.push_back(FuseFd{r.pid, r.fd, r.conn_dev});
    }
    return out;
}

} // namespace freezeprobe
