#include "bpf_probe.h"

#include "freezeprobe_bpf.skel.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

// libbpf prints warnings (verifier logs, attach failures) through this hook; the last lines are
// kept so that an error can say what the kernel refused, without flooding the terminal.
std::mutex log_mutex;
std::deque<std::string> libbpf_log;

int keep_libbpf_log(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[512];
    int n = vsnprintf(line, sizeof(line), format, args);
    std::string text(line, n > 0 ? std::min<size_t>(n, sizeof(line) - 1) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    std::lock_guard lock(log_mutex);
    if (!text.empty())
        libbpf_log.push_back(std::move(text));
    if (libbpf_log.size() > 40)
        libbpf_log.pop_front();
    return 0;
}

std::string last_libbpf_words() {
    std::lock_guard lock(log_mutex);
    return libbpf_log.empty() ? std::string() : " (libbpf: " + libbpf_log.back() + ")";
}

[[noreturn]] void fail(const std::string &step, int err) {
    err = err < 0 ? -err : err;
    throw ProbeError(step + ": " + std::strerror(err) + last_libbpf_words(), err);
}

// A write of zero bytes reaches sys_enter but changes nothing in the cgroup.
void calibrate(const std::string &path) {
    if (path.empty())
        return;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    [[maybe_unused]] auto n = ::write(fd, "", 0);
    ::close(fd);
}

int on_ring_record(void *ctx, void *data, size_t size) {
    auto *callback = static_cast<BpfProbe::RecordCallback *>(ctx);
    (*callback)(std::span<const std::byte>(static_cast<const std::byte *>(data), size));
    return 0;
}

} // namespace

std::vector<std::string> recent_libbpf_messages() {
    std::lock_guard lock(log_mutex);
    return {libbpf_log.begin(), libbpf_log.end()};
}

std::string to_string(AttachMode mode) {
    switch (mode) {
    case AttachMode::tracepoint:
        return "tracepoint";
    }
    return "unknown";
}

struct BpfProbe::Impl {
    freezeprobe_bpf *skel = nullptr;
    ring_buffer *ring = nullptr;
    RecordCallback on_record;
    int ncpus = 1;

    ~Impl() {
        ring_buffer__free(ring);
        freezeprobe_bpf::destroy(skel);
    }
};

BpfProbe::BpfProbe(std::unique_ptr<Impl> impl, AttachMode mode)
    : impl_(std::move(impl)), mode_(mode) {}

BpfProbe::~BpfProbe() = default;

std::unique_ptr<BpfProbe> BpfProbe::start(const ProbeOptions &options, RecordCallback on_record) {
    static std::once_flag log_hook;
    std::call_once(log_hook, [] { libbpf_set_print(keep_libbpf_log); });

    auto impl = std::make_unique<Impl>();
    impl->on_record = std::move(on_record);
    impl->ncpus = libbpf_num_possible_cpus();
    if (impl->ncpus <= 0)
        fail("counting possible CPUs", impl->ncpus);

    impl->skel = freezeprobe_bpf::open();
    if (!impl->skel)
        fail("opening the BPF object", errno);
    if (int err = bpf_map__set_max_entries(impl->skel->maps.events, options.ring_buffer_bytes))
        fail("sizing the ring buffer", err);
    if (int err = freezeprobe_bpf::load(impl->skel))
        fail("loading the BPF programs (the kernel refused them)", err);
    if (int err = freezeprobe_bpf::attach(impl->skel))
        fail("attaching the BPF programs", err);
    calibrate(options.calibration_file);

    impl->ring = ring_buffer__new(bpf_map__fd(impl->skel->maps.events), on_ring_record,
                                  &impl->on_record, nullptr);
    if (!impl->ring)
        fail("opening the ring buffer", errno);
    return std::unique_ptr<BpfProbe>(new BpfProbe(std::move(impl), options.mode));
}

int BpfProbe::poll(int timeout_ms) {
    int n = ring_buffer__poll(impl_->ring, timeout_ms);
    if (n == -EINTR)
        return 0;
    if (n < 0)
        fail("reading the ring buffer", n);
    return n;
}

bool BpfProbe::fast_filter_ready() const {
    return impl_->skel->bss->kernfs_file_fops != nullptr;
}

std::uint64_t BpfProbe::lost_events() const {
    std::vector<std::uint64_t> per_cpu(impl_->ncpus);
    std::uint32_t key = 0;
    if (bpf_map__lookup_elem(impl_->skel->maps.lost_events, &key, sizeof(key), per_cpu.data(),
                             per_cpu.size() * sizeof(std::uint64_t), 0))
        fail("reading the lost-event counter", errno);
    std::uint64_t sum = 0;
    for (auto n : per_cpu)
        sum += n;
    return sum;
}

} // namespace freezeprobe
