#include "bpf_probe.h"

#include "freezeprobe_bpf.skel.h"
#include "kernel_functions.h"

#include <algorithm>
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
// Lines logged since the current attach attempt began (the error explains only that attempt).
std::size_t lines_this_attempt = 0;

int keep_libbpf_log(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[512];
    int n = vsnprintf(line, sizeof(line), format, args);
    std::string_view text(line, n > 0 ? std::min<size_t>(n, sizeof(line) - 1) : 0);
    if (text.starts_with("libbpf: "))
        text.remove_prefix(8);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    std::lock_guard lock(log_mutex);
    if (!text.empty()) {
        libbpf_log.emplace_back(text);
        ++lines_this_attempt;
    }
    if (libbpf_log.size() > 40)
        libbpf_log.pop_front();
    return 0;
}

void new_attempt() {
    std::lock_guard lock(log_mutex);
    lines_this_attempt = 0;
}

// libbpf's most telling line of this attempt: the program the kernel refused, else the last.
std::string last_libbpf_words() {
    std::lock_guard lock(log_mutex);
    auto n = std::min(lines_this_attempt, libbpf_log.size());
    if (n == 0)
        return "";
    auto first = libbpf_log.end() - static_cast<std::ptrdiff_t>(n);
    auto telling = std::find_if(first, libbpf_log.end(), [](const std::string &l) {
        return l.find("BPF program load failed") != std::string::npos ||
               l.find("failed to attach") != std::string::npos;
    });
    return " (libbpf: " + (telling != libbpf_log.end() ? *telling : libbpf_log.back()) + ")";
}

[[noreturn]] void fail(const std::string &step, int err) {
    err = err < 0 ? -err : err;
    throw ProbeError(step + ": " + std::strerror(err) + last_libbpf_words(), err);
}

// One read of a cgroup file reaches sys_enter, where the filter learns the kernfs
// file_operations. A read, never a write: a write to a cgroup control file takes cgroup_mutex
// before its handler looks at the bytes, and the probe must start on a node where a cgroup
// operation hangs holding it (the fault it is there to explain).
void calibrate(const std::string &path) {
    if (path.empty())
        return;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[64];
    [[maybe_unused]] auto n = ::read(fd, buf, sizeof(buf));
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

struct BpfProbe::Impl {
    freezeprobe_bpf *skel = nullptr;
    std::vector<bpf_link *> links;
    ring_buffer *ring = nullptr;
    RecordCallback on_record;
    int ncpus = 1;
    AttachPlan plan;
    std::vector<RefusedMode> refused;

    ~Impl() {
        ring_buffer__free(ring);
        for (auto *link : links)
            bpf_link__destroy(link);
        freezeprobe_bpf::destroy(skel);
    }

    // Opens the object with only the plan's programs turned on, loads and attaches them.
    void load_and_attach(std::uint32_t ring_buffer_bytes) {
        skel = freezeprobe_bpf::open();
        if (!skel)
            fail("opening the BPF object", errno);
        bpf_program *prog;
        bpf_object__for_each_program(prog, skel->obj) {
            bool wanted = std::find(plan.programs.begin(), plan.programs.end(),
                                    bpf_program__name(prog)) != plan.programs.end();
            bpf_program__set_autoload(prog, wanted);
        }
        if (int err = bpf_map__set_max_entries(skel->maps.events, ring_buffer_bytes))
            fail("sizing the ring buffer", err);
        // Bulk records wake the reader once an eighth of the ring is in use (see maps.bpf.h).
        skel->rodata->wakeup_bytes = ring_buffer_bytes / 8;
        if (int err = freezeprobe_bpf::load(skel))
            fail("loading the BPF programs (the kernel refused them)", err);
        for (const auto &name : plan.programs) {
            if (std::any_of(plan.kprobes.begin(), plan.kprobes.end(),
                            [&](auto &k) { return k.program == name; }))
                continue;
            attach(bpf_object__find_program_by_name(skel->obj, name.c_str()), name,
                   [](auto *p) { return bpf_program__attach(p); });
        }
        for (const auto &k : plan.kprobes)
            attach(bpf_object__find_program_by_name(skel->obj, k.program.c_str()),
                   (k.retprobe ? "kretprobe " : "kprobe ") + k.symbol, [&](auto *p) {
                       return bpf_program__attach_kprobe(p, k.retprobe, k.symbol.c_str());
                   });
    }

    template <typename AttachFn>
    void attach(bpf_program *prog, const std::string &what, AttachFn attach_fn) {
        if (!prog)
            fail("finding BPF program " + what, ENOENT);
        bpf_link *link = attach_fn(prog);
        if (!link)
            fail("attaching " + what, errno);
        links.push_back(link);
    }
};

namespace {

// What the kernel offers for a mode, asked only as far as that mode needs.
// fentry: when optimistic, assumes every function is in the BTF (parsing it here would cost
// ~20 ms and a few MB on every start); the loader asks again only if libbpf could not find one.
AttachPlan plan_for(AttachMode mode, bool optimistic) {
    KernelFunctions kernel;
    if (mode == AttachMode::fentry) {
        try {
            auto wanted = hooked_kernel_functions();
            kernel.btf = optimistic ? std::set<std::string>(wanted.begin(), wanted.end())
                                    : btf_functions(wanted);
        } catch (const std::exception &e) {
            AttachPlan plan;
            plan.mode = mode;
            plan.refused = e.what();
            return plan;
        }
    } else if (mode == AttachMode::kprobe) {
        if (auto why = kprobes_unavailable()) {
            AttachPlan plan;
            plan.mode = mode;
            plan.refused = *why;
            return plan;
        }
        kernel.kallsyms = kallsyms_functions(hooked_kernel_functions());
    }
    return plan_attach(mode, kernel);
}

} // namespace

BpfProbe::BpfProbe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BpfProbe::~BpfProbe() = default;

std::unique_ptr<BpfProbe> BpfProbe::start(const ProbeOptions &options, RecordCallback on_record) {
    static std::once_flag log_hook;
    std::call_once(log_hook, [] { libbpf_set_print(keep_libbpf_log); });

    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        fail("counting possible CPUs", ncpus);

    std::vector<AttachMode> candidates(std::begin(all_attach_modes), std::end(all_attach_modes));
    if (options.mode)
        candidates = {*options.mode};
    std::vector<RefusedMode> refused;
    int last_error = ENOTSUP;
    for (auto mode : candidates) {
        std::unique_ptr<Impl> impl;
        auto attempt = [&](bool optimistic) {
            new_attempt();
            impl = std::make_unique<Impl>();
            impl->ncpus = ncpus;
            impl->plan = plan_for(mode, optimistic);
            if (impl->plan.refused)
                throw ProbeError(*impl->plan.refused, ENOENT);
            impl->load_and_attach(options.ring_buffer_bytes);
        };
        try {
            try {
                attempt(true);
            } catch (const ProbeError &e) {
                // libbpf's "cannot find the function in the kernel's BTF": plan again with the
                // functions that are there (optional ones may be missing).
                if (mode != AttachMode::fentry || e.error_number() != ESRCH)
                    throw;
                attempt(false);
            }
        } catch (const ProbeError &e) {
            refused.push_back({mode, e.what()});
            last_error = e.error_number();
            continue;
        }
        if (mode == AttachMode::tracepoint)
            calibrate(options.calibration_file);
        impl->on_record = on_record;
        impl->ring = ring_buffer__new(bpf_map__fd(impl->skel->maps.events), on_ring_record,
                                      &impl->on_record, nullptr);
        if (!impl->ring)
            fail("opening the ring buffer", errno);
        impl->refused = std::move(refused);
        return std::unique_ptr<BpfProbe>(new BpfProbe(std::move(impl)));
    }
    if (options.mode)
        throw ProbeError("attach mode " + to_string(*options.mode) +
                             " is not possible here: " + refused.front().reason,
                         last_error);
    std::string why;
    for (const auto &r : refused)
        why += (why.empty() ? "" : "; ") + to_string(r.mode) + ": " + r.reason;
    throw ProbeError("no attach mode works here (" + why + ")", last_error);
}

AttachMode BpfProbe::mode() const {
    return impl_->plan.mode;
}

const std::vector<RefusedMode> &BpfProbe::refused_modes() const {
    return impl_->refused;
}

const std::vector<std::string> &BpfProbe::mode_notes() const {
    return impl_->plan.notes;
}

int BpfProbe::poll(int timeout_ms) {
    int n = ring_buffer__poll(impl_->ring, timeout_ms);
    // Bulk records do not wake the reader (maps.bpf.h): take them when the wait times out.
    if (n == 0)
        n = ring_buffer__consume(impl_->ring);
    if (n == -EINTR)
        return 0;
    if (n < 0)
        fail("reading the ring buffer", n);
    return n;
}

bool BpfProbe::fast_filter_ready() const {
    return impl_->plan.mode == AttachMode::tracepoint && impl_->skel->bss->kernfs_file_fops;
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
