/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fentry and kprobe attach modes: the same records as the tracepoint mode, taken inside the
 * kernel's kernfs and cgroup functions, so that writes to other files cost nothing.
 *
 *   kernfs_fop_write_iter   entry/exit of every write to a kernfs file: the record's start, end,
 *                           return value and latency (this also sees writes kernfs refuses before
 *                           a handler runs, e.g. ENODEV on a removed cgroup)
 *   the cgroup write handlers (cgroup_freeze_write, freezer_write, cgroup_procs_write,
 *                           cgroup_threads_write, cgroup1_procs_write, cgroup1_tasks_write)
 *                           entry: the written bytes, from the kernel's own copy
 *   cgroup_kn_lock_live     entry/exit: the time a write waited for cgroup_mutex
 *   freezer_read, cgroup_events_show
 *                           entry/exit: what a reader of freezer.state / cgroup.events got
 *
 * Each step is one inline function below; the fentry and kprobe programs only unpack their
 * arguments and call it. The loader turns on one mode's programs and attaches them.
 */
#ifndef FREEZEPROBE_KERNFS_HOOKS_BPF_H
#define FREEZEPROBE_KERNFS_HOOKS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pending_io.bpf.h"
#include "syscall_numbers.bpf.h"

/* The watched control file behind an open struct file, for writing or for reading. */
static __always_inline bool watched_open_file(struct file *file, bool reading,
					      struct watched_file *out)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	int version = cgroup_fs_version(sb);

	return version && watched_cgroup_file(inode, sb, version, reading, out);
}

/* Before 5.14 an iov_iter's kind was "type", with the direction in bit 0; before 6.4 its iovec
 * array was "iov". Only kernels before 5.15 read them (see copy_user_bytes). */
struct iov_iter___old {
	unsigned int type;
	const struct iovec *iov;
} __attribute__((preserve_access_index));

/* The iterator kinds (not in every kernel's BTF: values come from the running kernel's). */
enum iter_type___fp { ITER_IOVEC___fp = 4 };

/*
 * The written bytes, from the writer's own buffer. With bpf_task_pt_regs (5.15), when the write
 * came from write(2) or pwrite64(2), found through its syscall registers. Before 5.15, from the
 * write's own iov_iter when it is a plain user iovec (what write(2) and pwrite64(2) make; writev(2)
 * too, its first segment). A write kernfs refuses before a handler runs (ENODEV on a removed
 * cgroup) shows them only this way; otherwise a handler's copy replaces them.
 */
static __always_inline void copy_user_bytes(struct pending_io *io, struct iov_iter *iter)
{
	const char *buf;

	if (have_task_pt_regs) {
		struct pt_regs *regs =
			(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		long nr = SYSCALL_NR(regs);

		if (nr != NR_write && nr != NR_pwrite64)
			return;
		buf = (const char *)PT_REGS_PARM2_CORE(regs);
	} else {
		struct iov_iter___old *old = (struct iov_iter___old *)iter;
		unsigned int kind;

		if (!bpf_core_enum_value_exists(enum iter_type___fp, ITER_IOVEC___fp))
			return;
		if (bpf_core_field_exists(iter->iter_type))
			kind = BPF_CORE_READ(iter, iter_type);
		else
			kind = BPF_CORE_READ(old, type) & ~1u;
		if (kind != bpf_core_enum_value(enum iter_type___fp, ITER_IOVEC___fp))
			return;
		buf = (const char *)BPF_CORE_READ(old, iov, iov_base) +
		      BPF_CORE_READ(iter, iov_offset);
	}
	io->data_len = copy_data(io->data, buf, io->count, true);
	if (io->data_len)
		io->flags &= ~FP_WRITE_DATA_FAULT;
}

static __always_inline void kernfs_write_begins(struct kiocb *iocb, struct iov_iter *iter)
{
	struct pending_io io = {};

	io.count = BPF_CORE_READ(iter, count);
	if (!io.count || !watched_open_file(BPF_CORE_READ(iocb, ki_filp), false, &io.cg))
		return;
	io.type = FP_EVENT_WRITE;
	io.flags = FP_WRITE_DATA_FAULT; /* until the bytes are seen */
	copy_user_bytes(&io, iter);
	io.start_ns = bpf_ktime_get_ns();
	remember_io(current_tid(), &io);
}

static __always_inline struct pending_io *current_io(__u32 type)
{
	__u32 tid = current_tid();
	struct pending_io *io = bpf_map_lookup_elem(&pending_ios, &tid);

	return io && io->type == type ? io : NULL;
}

static __always_inline void handler_sees_buffer(const char *buf, __u64 nbytes)
{
	struct pending_io *io = current_io(FP_EVENT_WRITE);

	if (!io)
		return;
	io->data_len = copy_data(io->data, buf, nbytes, false);
	if (io->data_len)
		io->flags &= ~FP_WRITE_DATA_FAULT;
}

static __always_inline void lock_wait_begins(void)
{
	struct pending_io *io = current_io(FP_EVENT_WRITE);

	if (io)
		io->lock_start_ns = bpf_ktime_get_ns();
}

static __always_inline void lock_wait_ends(void)
{
	struct pending_io *io = current_io(FP_EVENT_WRITE);

	if (!io || !io->lock_start_ns)
		return;
	io->lock_wait_ns += bpf_ktime_get_ns() - io->lock_start_ns;
	io->lock_start_ns = 0;
	io->flags |= FP_IO_LOCK_WAIT;
}

static __always_inline void kernfs_write_ends(long ret)
{
	struct pending_io *io = current_io(FP_EVENT_WRITE);
	struct fp_io_event *e;

	if (!io)
		return;
	e = start_io_event(io, ret);
	if (e)
		submit_io_event(e);
	forget_io(current_tid());
}

/* A seq_file show function of freezer.state or cgroup.events starts formatting. */
static __always_inline void state_read_begins(struct seq_file *m)
{
	struct kernfs_open_file *of = BPF_CORE_READ(m, private);
	struct pending_io io = {};

	if (!watched_open_file(BPF_CORE_READ(of, file), true, &io.cg))
		return;
	io.type = FP_EVENT_READ;
	io.buf = m;
	io.start_ns = bpf_ktime_get_ns();
	remember_io(current_tid(), &io);
}

/* The show function returned: its text is the seq_file's buffer, which read() hands over. */
static __always_inline void state_read_ends(void)
{
	struct pending_io *io = current_io(FP_EVENT_READ);
	struct seq_file *m;
	struct fp_io_event *e;
	__u64 len;

	if (!io)
		return;
	m = (struct seq_file *)io->buf;
	len = BPF_CORE_READ(m, count);
	if (len) {
		e = start_io_event(io, len);
		if (e) {
			e->count = len;
			set_read_data(e, BPF_CORE_READ(m, buf), len, false);
			submit_io_event(e);
		}
	}
	forget_io(current_tid());
}

/* fentry mode (BPF trampolines). */

SEC("fentry/kernfs_fop_write_iter")
int BPF_PROG(fentry_kernfs_write, struct kiocb *iocb, struct iov_iter *iter)
{
	kernfs_write_begins(iocb, iter);
	return 0;
}

SEC("fexit/kernfs_fop_write_iter")
int BPF_PROG(fexit_kernfs_write, struct kiocb *iocb, struct iov_iter *iter, ssize_t ret)
{
	kernfs_write_ends(ret);
	return 0;
}

#define FENTRY_WRITE_HANDLER(handler)                                                              \
	SEC("fentry/" #handler)                                                                    \
	int BPF_PROG(fentry_##handler, struct kernfs_open_file *of, char *buf, size_t nbytes)      \
	{                                                                                          \
		handler_sees_buffer(buf, nbytes);                                                  \
		return 0;                                                                          \
	}

FENTRY_WRITE_HANDLER(cgroup_freeze_write)
FENTRY_WRITE_HANDLER(freezer_write)
FENTRY_WRITE_HANDLER(cgroup_procs_write)
FENTRY_WRITE_HANDLER(cgroup_threads_write)
FENTRY_WRITE_HANDLER(cgroup1_procs_write)
FENTRY_WRITE_HANDLER(cgroup1_tasks_write)

SEC("fentry/cgroup_kn_lock_live")
int BPF_PROG(fentry_cgroup_lock, struct kernfs_node *kn)
{
	lock_wait_begins();
	return 0;
}

SEC("fexit/cgroup_kn_lock_live")
int BPF_PROG(fexit_cgroup_lock, struct kernfs_node *kn, bool drain_offline, struct cgroup *ret)
{
	lock_wait_ends();
	return 0;
}

SEC("fentry/freezer_read")
int BPF_PROG(fentry_freezer_read, struct seq_file *m)
{
	state_read_begins(m);
	return 0;
}

SEC("fexit/freezer_read")
int BPF_PROG(fexit_freezer_read, struct seq_file *m, void *v, int ret)
{
	state_read_ends();
	return 0;
}

SEC("fentry/cgroup_events_show")
int BPF_PROG(fentry_cgroup_events_show, struct seq_file *m)
{
	state_read_begins(m);
	return 0;
}

SEC("fexit/cgroup_events_show")
int BPF_PROG(fexit_cgroup_events_show, struct seq_file *m, void *v, int ret)
{
	state_read_ends();
	return 0;
}

/*
 * kprobe mode: the same steps; the loader attaches each program to its function(s) by the
 * name found in kallsyms. One handler program serves all six write handlers (same arguments).
 */

SEC("kprobe")
int BPF_KPROBE(kprobe_kernfs_write, struct kiocb *iocb, struct iov_iter *iter)
{
	kernfs_write_begins(iocb, iter);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kretprobe_kernfs_write, long ret)
{
	kernfs_write_ends(ret);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kprobe_write_handler, struct kernfs_open_file *of, char *buf, size_t nbytes)
{
	handler_sees_buffer(buf, nbytes);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kprobe_cgroup_lock)
{
	lock_wait_begins();
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kretprobe_cgroup_lock)
{
	lock_wait_ends();
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kprobe_state_read, struct seq_file *m)
{
	state_read_begins(m);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kretprobe_state_read)
{
	state_read_ends();
	return 0;
}

#endif
