#include "bpf_probe.h"

#include "freezeprobe_bpf.skel.h"
#include "freezeprobe_events.h"
#include "kernel_functions.h"
#include "kretprobe_events.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <string_view>
#include <system_error>
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
    // kprobe mode: the tracefs kretprobes (removed after the links that use them), and where.
    std::string tracefs;
    std::vector<std::unique_ptr<KretprobeEvent>> kretprobes;
    int kretprobe_maxactive = kretprobe_maxactive_max;

    ~Impl() {
        ring_buffer__free(ring);
        for (auto *link : links)
            bpf_link__destroy(link);
        kretprobes.clear();
        freezeprobe_bpf::destroy(skel);
    }

    // A kretprobe with our maxactive, through tracefs; without a writable tracefs, libbpf's
    // (the kernel's default maxactive).
    bpf_link *attach_kretprobe(bpf_program *prog, const std::string &symbol) {
        if (tracefs.empty())
            return bpf_program__attach_kprobe(prog, true, symbol.c_str());
        std::unique_ptr<KretprobeEvent> event;
        try {
            event = std::make_unique<KretprobeEvent>(tracefs, symbol, kretprobe_maxactive);
        } catch (const std::system_error &e) {
            fail(e.what(), e.code().value());
        }
        bpf_link *link = bpf_program__attach_perf_event(prog, event->perf_fd());
        if (link) {
            event->release_perf_fd(); // the link closes it
            kretprobes.push_back(std::move(event));
        }
        return link;
    }

    // Writes and reads whose end was never seen, by threads that are gone (see lost_events).
    std::uint64_t ended_unseen = 0;

    // Takes the pending entries of threads that no longer exist out of pending_ios and counts
    // them. A thread's entry goes when its write or read returns; it stays when that return was
    // missed (a kretprobe past its maxactive). The thread's next watched write or read replaces
    // it and counts it (pending_io.bpf.h); one that never comes is counted here. The map holds
    // the kernel's thread ids, which /proc shows only in the initial PID namespace: elsewhere
    // nothing is swept (such entries stay uncounted).
    void sweep_ended_threads() {
        static const bool initial_pid_namespace = [] {
            std::ifstream status("/proc/self/status");
            std::string line;
            while (std::getline(status, line))
                if (line.starts_with("NSpid:"))
                    return line.find_first_of(" \t", line.find_first_not_of(" \t", 6)) ==
                           std::string::npos;
            return false;
        }();
        if (!initial_pid_namespace)
            return;
        bpf_map *map = skel->maps.pending_ios;
        std::vector<std::uint32_t> gone;
        std::uint32_t key = 0, next = 0;
        bool first = true;
        while (bpf_map__get_next_key(map, first ? nullptr : &key, &next, sizeof(key)) == 0) {
            first = false;
            key = next;
            char proc[32];
            std::snprintf(proc, sizeof(proc), "/proc/%u", key);
            if (::access(proc, F_OK) != 0 && errno == ENOENT)
                gone.push_back(key);
        }
        for (auto tid : gone)
            if (bpf_map__delete_elem(map, &tid, sizeof(tid), 0) == 0) {
                __atomic_fetch_sub(&skel->bss->io_in_flight, 1, __ATOMIC_RELAXED);
                ++ended_unseen;
            }
    }

    bool has_program(const std::string &name) const {
        return std::find(plan.programs.begin(), plan.programs.end(), name) != plan.programs.end();
    }

    // Runs of a program that the kernel skipped (bpf_prog_info.recursion_misses, 5.12 on): it
    // does not run a program on a CPU where that program is already running, which happens where
    // programs run preemptibly (fentry programs on a preemptible kernel; the syscall tracepoints'
    // on 7.x) and a task is preempted inside one. 0 where the kernel's info has no such field.
    std::uint64_t recursion_misses(const char *name) const {
        bpf_program *prog = bpf_object__find_program_by_name(skel->obj, name);
        int fd = prog ? bpf_program__fd(prog) : -1;
        if (fd < 0)
            return 0;
        bpf_prog_info info{};
        std::uint32_t len = sizeof(info);
        return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.recursion_misses : 0;
    }

    // The skipped runs that may have lost a record: those of the programs that begin a write or a
    // read or make a record by themselves. (A skipped end leaves the write's pending entry,
    // which is counted when it is replaced or its thread is gone; a skipped handler or lock
    // program only loses a detail.) Each skipped run may have been a watched call or not: this
    // is an upper bound. With the spares of on_sys_enter, a call that every copy skipped is
    // counted by itself, exactly, at its end (bpf/syscall_hooks.bpf.h).
    std::uint64_t skipped_runs() const {
        std::uint64_t sum = 0;
        for (const char *name :
             {"on_cgroup_freeze", "on_cgroup_unfreeze", "on_cgroup_notify_frozen",
              "on_cgroup_attach_task", "on_cgroup_mkdir", "on_cgroup_rmdir", "on_cgroup_release",
              "fentry_kernfs_write", "fentry_freezer_read", "fentry_cgroup_events_show",
              "kprobe_kernfs_write", "kprobe_state_read"})
            sum += recursion_misses(name);
        if (!has_program(sys_enter_spare_program))
            sum += recursion_misses("on_sys_enter");
        return sum;
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
        // Helpers newer than 5.8, used where the kernel has them (see cgroup_file.bpf.h).
        skel->rodata->have_current_task_btf = bpf_support().current_task_btf;
        skel->rodata->have_task_pt_regs = bpf_support().task_pt_regs;
        skel->rodata->spare_hooks = has_program(sys_enter_spare_program);
        if (int err = freezeprobe_bpf::load(skel))
            fail("loading the BPF programs (the kernel refused them)", err);
        for (const auto &name : plan.programs) {
            if (std::any_of(plan.kprobes.begin(), plan.kprobes.end(),
                            [&](auto &k) { return k.program == name; }))
                continue;
            attach(bpf_object__find_program_by_name(skel->obj, name.c_str()), name,
                   [](auto *p) { return bpf_program__attach(p); });
        }
        if (!plan.kprobes.empty()) {
            if (auto dir = writable_tracefs()) {
                tracefs = *dir;
                remove_stale_kretprobe_events(tracefs);
            } else {
                plan.notes.push_back(
                    "no writable tracefs (kprobe_events): kretprobes keep the kernel's default "
                    "maxactive (the returns they miss are counted as lost)");
            }
        }
        for (const auto &k : plan.kprobes)
            attach(bpf_object__find_program_by_name(skel->obj, k.program.c_str()),
                   (k.retprobe ? "kretprobe " : "kprobe ") + k.symbol, [&](auto *p) {
                       return k.retprobe ? attach_kretprobe(p, k.symbol)
                                         : bpf_program__attach_kprobe(p, false, k.symbol.c_str());
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
AttachPlan plan_for(AttachMode mode, bool optimistic, bool spare_hooks) {
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
    } else if (mode == AttachMode::tracepoint) {
        try {
            kernel.btf = btf_functions({preemptible_syscall_tracepoints_marker});
        } catch (const std::exception &) {
            // No BTF: the load fails and says why.
        }
        if (spare_hooks)
            kernel.btf.insert(preemptible_syscall_tracepoints_marker);
    }
    return plan_attach(mode, kernel);
}

} // namespace

void capture_libbpf_log() {
    static std::once_flag log_hook;
    std::call_once(log_hook, [] { libbpf_set_print(keep_libbpf_log); });
}

BpfProbe::BpfProbe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BpfProbe::~BpfProbe() = default;

std::unique_ptr<BpfProbe> BpfProbe::start(const ProbeOptions &options, RecordCallback on_record) {
    capture_libbpf_log();

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
            if (options.kretprobe_maxactive)
                impl->kretprobe_maxactive = options.kretprobe_maxactive;
            impl->plan = plan_for(mode, optimistic, options.spare_syscall_hooks);
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

namespace {

fp_fork_key fork_key(int version, std::uint64_t cgroup_id, std::uint32_t pid) {
    fp_fork_key key{};
    key.cgroup_id = cgroup_id;
    key.version = static_cast<std::uint32_t>(version);
    key.pid = pid;
    return key;
}

// The forker entries of one cgroup (a walk of the table: at most FP_FORK_FORKERS entries).
std::vector<fp_fork_key> forker_keys(bpf_map *forkers, const fp_fork_key &cgroup) {
    std::vector<fp_fork_key> mine;
    fp_fork_key cur{}, next{};
    bool first = true;
    while (bpf_map__get_next_key(forkers, first ? nullptr : &cur, &next, sizeof(next)) == 0) {
        first = false;
        cur = next;
        if (cur.cgroup_id == cgroup.cgroup_id && cur.version == cgroup.version)
            mine.push_back(cur);
    }
    return mine;
}

} // namespace

bool BpfProbe::watch_forks(int version, std::uint64_t cgroup_id) {
    auto key = fork_key(version, cgroup_id, 0);
    std::uint64_t zero = 0;
    // A fork counted while the cgroup's last episode was being read out may have left an entry.
    for (auto &k : forker_keys(impl_->skel->maps.fork_forkers, key))
        bpf_map__delete_elem(impl_->skel->maps.fork_forkers, &k, sizeof(k), 0);
    if (bpf_map__update_elem(impl_->skel->maps.freeze_pending, &key, sizeof(key), &zero,
                             sizeof(zero), BPF_NOEXIST) != 0)
        return errno == EEXIST;
    __atomic_fetch_add(&impl_->skel->bss->freezes_pending, 1, __ATOMIC_RELAXED);
    return true;
}

ForkTally BpfProbe::fork_tally(int version, std::uint64_t cgroup_id, bool unwatch) {
    ForkTally tally;
    auto key = fork_key(version, cgroup_id, 0);
    bpf_map *pending = impl_->skel->maps.freeze_pending;
    if (bpf_map__lookup_elem(pending, &key, sizeof(key), &tally.forks, sizeof(tally.forks), 0))
        return tally; // not watched
    if (unwatch && bpf_map__delete_elem(pending, &key, sizeof(key), 0) == 0)
        __atomic_fetch_sub(&impl_->skel->bss->freezes_pending, 1, __ATOMIC_RELAXED);
    if (!tally.forks)
        return tally;
    bpf_map *forkers = impl_->skel->maps.fork_forkers;
    for (auto &k : forker_keys(forkers, key)) {
        fp_forker f{};
        if (bpf_map__lookup_elem(forkers, &k, sizeof(k), &f, sizeof(f), 0) == 0)
            tally.forkers.push_back(
                {k.pid, std::string(f.comm, strnlen(f.comm, sizeof(f.comm))), f.forks});
        if (unwatch)
            bpf_map__delete_elem(forkers, &k, sizeof(k), 0);
    }
    std::sort(tally.forkers.begin(), tally.forkers.end(), [](auto &a, auto &b) {
        return a.forks != b.forks ? a.forks > b.forks : a.pid < b.pid;
    });
    return tally;
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
    impl_->sweep_ended_threads();
    return sum + impl_->ended_unseen + impl_->skipped_runs();
}

} // namespace freezeprobe
