// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * freezeprobe kernel side, tracepoint attach mode.
 *
 * Writes to cgroup control files, and reads of the freeze state files (v1
 * completion is only visible there), are caught at the raw syscall tracepoints
 * (raw_syscalls:sys_enter/sys_exit through tp_btf, which need no tracefs),
 * and the kernel's cgroup tracepoints report freeze transitions, migrations
 * and cgroup creation/removal. Every record goes through one ring buffer;
 * records that do not fit are counted in lost_events.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "freezeprobe_events.h"
#include "maps.bpf.h"
#include "cgroup_file.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#if defined(__TARGET_ARCH_x86)
#define NR_read 0
#define NR_write 1
#elif defined(__TARGET_ARCH_arm64)
#define NR_read 63
#define NR_write 64
#else
#error "unsupported architecture"
#endif

/* A watched write or read between its syscall entry and exit, keyed by thread id. */
struct pending_io {
	__u64 start_ns;
	__u64 count;
	const void *buf; /* reads: where the kernel puts the bytes */
	struct watched_file cg;
	__u32 type; /* FP_EVENT_WRITE or FP_EVENT_READ */
	__u32 data_len;
	__u32 flags;
	__u32 pad;
	char data[FP_DATA_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_io);
} pending_ios SEC(".maps");

/*
 * Number of entries in pending_ios. sys_exit runs on every syscall of the
 * node; while no watched write or read is in flight it returns after this one
 * load.
 */
__u64 io_in_flight = 0;

/* pending_ios was full: the event is lost, and counted. */
static __always_inline void remember_io(__u32 tid, const struct pending_io *w)
{
	long err = bpf_map_update_elem(&pending_ios, &tid, w, BPF_NOEXIST);

	if (!err) {
		__sync_fetch_and_add(&io_in_flight, 1);
		return;
	}
	/* A stale entry of this thread (an exit we never saw): replace it. */
	if (bpf_map_update_elem(&pending_ios, &tid, w, BPF_EXIST))
		count_lost();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct pending_io io = {};
	struct super_block *sb;
	struct inode *inode;
	struct file *file;
	const void *fops;
	bool reading;
	int version;
	__u32 n;

	/* Runs on every syscall of the node: reject cheaply, in this order. */
	if (id != NR_write && id != NR_read)
		return 0;
	file = current_fd_file((unsigned int)PT_REGS_PARM1(regs));
	if (!file)
		return 0;
	fops = BPF_CORE_READ(file, f_op);
	if (kernfs_file_fops && fops != kernfs_file_fops)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	sb = BPF_CORE_READ(inode, i_sb);
	version = cgroup_fs_version(sb);
	if (!version)
		return 0;
	kernfs_file_fops = fops;

	/* A zero-byte write changes nothing; the loader's calibration write is one. */
	reading = id == NR_read;
	io.count = PT_REGS_PARM3(regs);
	if (!io.count || !watched_cgroup_file(inode, sb, version, reading, &io.cg))
		return 0;
	io.buf = (const void *)PT_REGS_PARM2(regs);
	io.type = reading ? FP_EVENT_READ : FP_EVENT_WRITE;
	if (!reading) {
		n = io.count < FP_DATA_LEN ? io.count : FP_DATA_LEN;
		if (bpf_probe_read_user(io.data, n & (FP_DATA_LEN * 2 - 1), io.buf) == 0)
			io.data_len = n;
		else
			io.flags |= FP_WRITE_DATA_FAULT;
	}
	io.start_ns = bpf_ktime_get_ns();
	remember_io((__u32)bpf_get_current_pid_tgid(), &io);
	return 0;
}

/* What a read returned, copied from the reader's buffer now that the kernel has filled it. */
static __always_inline void copy_read_result(struct fp_io_event *e, const struct pending_io *io,
					     long ret)
{
	__u32 n;

	e->data_len = 0;
	if (ret <= 0)
		return;
	n = ret < FP_DATA_LEN ? ret : FP_DATA_LEN;
	if (bpf_probe_read_user(e->data, n & (FP_DATA_LEN * 2 - 1), io->buf) == 0)
		e->data_len = n;
	else
		e->flags |= FP_WRITE_DATA_FAULT;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct pending_io *io;
	struct fp_io_event *e;
	__u64 pid_tgid, now;
	__u32 tid;

	if (!io_in_flight)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tid = (__u32)pid_tgid;
	io = bpf_map_lookup_elem(&pending_ios, &tid);
	if (!io)
		return 0;
	now = bpf_ktime_get_ns();

	/* A read that returned nothing (end of file, an error) tells nothing about the state. */
	if (io->type == FP_EVENT_WRITE || ret > 0) {
		e = reserve_event(sizeof(*e));
		if (e) {
			e->hdr.type = io->type;
			e->hdr.cpu = bpf_get_smp_processor_id();
			e->hdr.time_ns = io->start_ns;
			e->latency_ns = now - io->start_ns;
			e->cgroup_id = io->cg.cgroup_id;
			e->ret = ret;
			e->count = io->count;
			e->pid = pid_tgid >> 32;
			e->tid = tid;
			e->dev = io->cg.dev;
			e->file = io->cg.file;
			e->cgroup_version = io->cg.version;
			e->flags = io->flags;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			if (io->type == FP_EVENT_READ) {
				copy_read_result(e, io, ret);
			} else {
				e->data_len = io->data_len;
				__builtin_memcpy(e->data, io->data, sizeof(e->data));
			}
			bpf_ringbuf_submit(e, 0);
		}
	}
	if (bpf_map_delete_elem(&pending_ios, &tid) == 0)
		__sync_fetch_and_add(&io_in_flight, -1);
	return 0;
}

/* One cgroup tracepoint record; the path is copied when the kernel gave one. */
static __always_inline int emit_cgroup_event(enum fp_cgroup_op op, struct cgroup *cgrp,
					     const char *path, struct task_struct *task, int val)
{
	struct fp_cgroup_event *e = reserve_event(sizeof(*e));
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	long len;

	if (!e)
		return 0;
	e->hdr.type = FP_EVENT_CGROUP;
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.time_ns = bpf_ktime_get_ns();
	e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	e->hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	e->level = BPF_CORE_READ(cgrp, level);
	e->op = op;
	e->val = val;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (task) {
		e->task_pid = BPF_CORE_READ(task, tgid);
		e->task_tid = BPF_CORE_READ(task, pid);
		bpf_probe_read_kernel_str(e->task_comm, sizeof(e->task_comm), &task->comm);
	} else {
		e->task_pid = 0;
		e->task_tid = 0;
		e->task_comm[0] = 0;
	}
	len = path ? bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) : 0;
	e->path_len = len > 0 ? len - 1 : 0;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/cgroup_freeze")
int BPF_PROG(on_cgroup_freeze, struct cgroup *cgrp, const char *path)
{
	return emit_cgroup_event(FP_CG_FREEZE, cgrp, path, NULL, 0);
}

SEC("tp_btf/cgroup_unfreeze")
int BPF_PROG(on_cgroup_unfreeze, struct cgroup *cgrp, const char *path)
{
	return emit_cgroup_event(FP_CG_UNFREEZE, cgrp, path, NULL, 0);
}

SEC("tp_btf/cgroup_notify_frozen")
int BPF_PROG(on_cgroup_notify_frozen, struct cgroup *cgrp, const char *path, int val)
{
	return emit_cgroup_event(FP_CG_NOTIFY_FROZEN, cgrp, path, NULL, val);
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach_task, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	return emit_cgroup_event(FP_CG_ATTACH_TASK, dst, path, task, threadgroup);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(on_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return emit_cgroup_event(FP_CG_MKDIR, cgrp, path, NULL, 0);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(on_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return emit_cgroup_event(FP_CG_RMDIR, cgrp, path, NULL, 0);
}

SEC("tp_btf/cgroup_release")
int BPF_PROG(on_cgroup_release, struct cgroup *cgrp, const char *path)
{
	return emit_cgroup_event(FP_CG_RELEASE, cgrp, path, NULL, 0);
}
