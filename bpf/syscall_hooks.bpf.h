/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracepoint attach mode: writes to cgroup control files, and reads of the freeze state files,
 * caught at the raw syscall tracepoints (raw_syscalls:sys_enter/sys_exit through tp_btf, which
 * need no tracefs). Works on any kernel with BTF, at the price of running on every syscall.
 */
#ifndef FREEZEPROBE_SYSCALL_HOOKS_BPF_H
#define FREEZEPROBE_SYSCALL_HOOKS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pending_io.bpf.h"
#include "syscall_numbers.bpf.h"

/*
 * Set by the loader where syscall tracepoints run their programs preemptibly: the spare copies
 * below are attached, and the copies pass each call along (see "Spare copies").
 */
const volatile bool spare_hooks = false;

/*
 * Whether the read(2) or write(2) with these registers (at its entry or its end) goes to a watched
 * cgroup file; fills *cg and *count.
 */
static __always_inline bool watched_io(struct pt_regs *regs, bool reading, struct watched_file *cg,
				       __u64 *count)
{
	struct super_block *sb;
	struct inode *inode;
	struct file *file;
	const void *fops;
	int version;

	/* _SYSCALL: at a syscall's end arm64's x0 holds the return value (orig_x0 the fd). */
	file = current_fd_file((unsigned int)PT_REGS_PARM1_SYSCALL(regs));
	if (!file)
		return false;
	fops = BPF_CORE_READ(file, f_op);
	if (kernfs_file_fops && fops != kernfs_file_fops)
		return false;
	inode = BPF_CORE_READ(file, f_inode);
	sb = BPF_CORE_READ(inode, i_sb);
	version = cgroup_fs_version(sb);
	if (!version)
		return false;
	kernfs_file_fops = fops;

	/* A zero-byte write or read says nothing. */
	*count = PT_REGS_PARM3_SYSCALL(regs);
	return *count && watched_cgroup_file(inode, sb, version, reading, cg);
}

/*
 * The thread's read and write calls so far (its I/O accounting, CONFIG_TASK_XACCT; 0 without
 * it): vfs_read and vfs_write count each call that reaches a file, so at a call's entry this tells
 * it from the thread's earlier ones.
 */
static __always_inline __u64 io_calls(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (!bpf_core_field_exists(task->ioac.syscr))
		return 0;
	return BPF_CORE_READ(task, ioac.syscr) + BPF_CORE_READ(task, ioac.syscw);
}

/*
 * A read(2) or write(2) on entry: remembered if its file is a watched cgroup file. A spare
 * (below) leaves alone a record that an earlier copy made of the same call.
 */
static __always_inline int remember_cgroup_file_io(struct pt_regs *regs, bool reading, bool spare)
{
	struct watched_file cg;
	struct pending_io *known;
	__u64 count;
	__u32 tid;

	/* Every read and write of the node comes here: the record is zeroed only for watched ones.
	 */
	if (!watched_io(regs, reading, &cg, &count))
		return 0;
	struct pending_io io = {.cg = cg, .count = count};
	io.buf = (const void *)PT_REGS_PARM2_SYSCALL(regs);
	io.type = reading ? FP_EVENT_READ : FP_EVENT_WRITE;
	if (!reading) {
		io.data_len = copy_data(io.data, io.buf, io.count, true);
		if (!io.data_len)
			io.flags |= FP_WRITE_DATA_FAULT;
	}
	io.syscall_nr = reading ? NR_read : NR_write;
	tid = current_tid();
	if (spare_hooks) {
		io.enter_seq = io_calls();
		known = bpf_map_lookup_elem(&pending_ios, &tid);
		if (spare && known && io.enter_seq && known->enter_seq == io.enter_seq &&
		    known->syscall_nr == io.syscall_nr)
			return 0;
	}
	io.start_ns = bpf_ktime_get_ns();
	remember_io(tid, &io);
	return 0;
}

/*
 * With spares: each thread's io_calls at the end of its last call that a copy of sys_exit ended.
 * A copy that checks a call again (it was preempted or moved after an earlier copy, and the
 * per-CPU slot no longer names its thread) finds the call here instead of counting it lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} ended_calls SEC(".maps");

/*
 * The end of a read or write whose entry no copy of sys_enter saw (with spares only: it costs
 * the entry's file check again on every read and write): counted lost if it was a watched one
 * that would have been recorded.
 */
static __always_inline void count_unseen_entry(struct pt_regs *regs, long ret)
{
	struct watched_file cg;
	__u64 count, calls, *ended;
	long nr = SYSCALL_NR(regs);
	__u32 tid;

	if ((nr != NR_write && (nr != NR_read || ret <= 0)) ||
	    !watched_io(regs, nr == NR_read, &cg, &count))
		return;
	tid = current_tid();
	calls = io_calls();
	ended = bpf_map_lookup_elem(&ended_calls, &tid);
	if (calls && ended && *ended == calls)
		return;
	count_lost();
}

static __always_inline int sys_exit_hook(struct pt_regs *regs, long ret)
{
	struct pending_io *io = NULL;
	struct fp_io_event *e;
	__u32 tid;

	/* Every syscall of the node ends here: one load while nothing is in flight, without spares.
	 */
	if (!io_in_flight && !spare_hooks)
		return 0;
	tid = current_tid();
	if (io_in_flight)
		io = bpf_map_lookup_elem(&pending_ios, &tid);
	if (!io) {
		if (spare_hooks)
			count_unseen_entry(regs, ret);
		return 0;
	}
	/*
	 * The end of a later syscall: the record's own end was skipped. It is lost (and counted),
	 * not paired with a return value that is not its own. A later read or write is told by the
	 * thread's I/O count: its own call counted at most one more.
	 */
	if (io->syscall_nr != SYSCALL_NR(regs) ||
	    (spare_hooks && io->enter_seq && io_calls() > io->enter_seq + 1)) {
		count_lost();
		forget_io(tid);
		if (spare_hooks)
			count_unseen_entry(regs, ret);
		return 0;
	}
	/* A read that returned nothing (end of file, an error) tells nothing about the state. */
	if (io->type == FP_EVENT_WRITE || ret > 0) {
		e = start_io_event(io, ret);
		if (e) {
			if (io->type == FP_EVENT_READ)
				set_read_data(e, io->buf, ret, true);
			submit_io_event(e);
		}
	}
	if (spare_hooks) {
		__u64 calls = io_calls();

		bpf_map_update_elem(&ended_calls, &tid, &calls, BPF_ANY);
	}
	forget_io(tid);
	return 0;
}

/*
 * Spare copies. The kernel skips a program on a CPU where that program is already running (its
 * recursion check, counted in the program's recursion_misses). Up to 6.x the syscall tracepoints
 * run their programs with preemption off, so that does not happen; kernels that run them
 * preemptibly (7.x: trace_call_bpf_faultable) skip on_sys_enter for every task of a CPU on which
 * another task was preempted inside it, until that task runs again. There the loader also
 * attaches two spares of each program, after it on the same tracepoint (a tracepoint calls its
 * programs in the order they were attached). The copies pass the thread along in a per-CPU slot:
 * the first puts its id there; a spare that finds another id there does the work (the copies
 * before it were skipped) and puts the id there; the last takes it out. A spare that works
 * although an earlier copy ran (the task was preempted or moved between the two) finds the
 * record of the call already there (same io_calls) and leaves it, or at the end finds the call in
 * ended_calls. A call that every copy of sys_enter skipped is counted lost at its end
 * (count_unseen_entry), and one whose end every copy of sys_exit skipped, at the thread's next
 * syscall end.
 */
struct hook_slot {
	__u32 enter_tid;   /* the thread whose read or write entry a copy has handled */
	__u32 exit_tid;	   /* the same for its end */
	__u64 enter_calls; /* and which of its calls it was (io_calls) */
	__u64 exit_calls;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hook_slot);
} hook_slots SEC(".maps");

/* Whether the copies before this one were skipped; the slot passes the call on. */
static __always_inline bool copy_must_work(__u32 *slot_tid, __u64 *slot_calls, bool first,
					   bool last)
{
	__u32 tid = current_tid();
	__u64 calls = io_calls();

	if (first) {
		*slot_tid = tid;
		*slot_calls = calls;
		return true;
	}
	if (*slot_tid == tid && *slot_calls == calls) {
		if (last)
			*slot_tid = 0;
		return false;
	}
	*slot_tid = last ? 0 : tid;
	*slot_calls = calls;
	return true;
}

static __always_inline int sys_enter_copy(struct pt_regs *regs, long id, bool first, bool last)
{
	__u32 zero = 0;
	struct hook_slot *slot;

	/* Runs on every syscall of the node: the id first. */
	if (id != NR_write && id != NR_read)
		return 0;
	if (spare_hooks) {
		slot = bpf_map_lookup_elem(&hook_slots, &zero);
		if (slot && !copy_must_work(&slot->enter_tid, &slot->enter_calls, first, last))
			return 0;
	}
	return remember_cgroup_file_io(regs, id == NR_read, !first);
}

/* Only the copies' handling of a read or write end needs the slot: the rest is idempotent. */
static __always_inline int sys_exit_copy(struct pt_regs *regs, long ret, bool first, bool last)
{
	__u32 zero = 0;
	struct hook_slot *slot;
	long nr;

	if (spare_hooks) {
		nr = SYSCALL_NR(regs);
		slot = (nr == NR_write || nr == NR_read) ? bpf_map_lookup_elem(&hook_slots, &zero)
							 : NULL;
		if (slot && !copy_must_work(&slot->exit_tid, &slot->exit_calls, first, last))
			return 0;
	}
	return sys_exit_hook(regs, ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	return sys_enter_copy(regs, id, true, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter_spare, struct pt_regs *regs, long id)
{
	return sys_enter_copy(regs, id, false, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter_spare2, struct pt_regs *regs, long id)
{
	return sys_enter_copy(regs, id, false, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	return sys_exit_copy(regs, ret, true, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_spare, struct pt_regs *regs, long ret)
{
	return sys_exit_copy(regs, ret, false, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_spare2, struct pt_regs *regs, long ret)
{
	return sys_exit_copy(regs, ret, false, true);
}

#endif
