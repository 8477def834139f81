// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * freezeprobe kernel side, tracepoint attach mode.
 *
 * Writes to cgroup control files are caught at the raw syscall tracepoints
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
#define NR_write 1
#elif defined(__TARGET_ARCH_arm64)
#define NR_write 64
#else
#error "unsupported architecture"
#endif

/* A cgroup write between its syscall entry and exit, keyed by thread id. */
struct pending_write {
	__u64 start_ns;
	__u64 count;
	struct watched_file cg;
	__u32 data_len;
	__u32 flags;
	char data[FP_DATA_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_write);
} pending_writes SEC(".maps");

/*
 * Number of entries in pending_writes. sys_exit runs on every syscall of the
 * node; while no cgroup write is in flight it returns after this one load.
 */
__u64 writes_in_flight = 0;

/* pending_writes was full: the write is lost, and counted. */
static __always_inline void remember_write(__u32 tid, const struct pending_write *w)
{
	long err = bpf_map_update_elem(&pending_writes, &tid, w, BPF_NOEXIST);

	if (!err) {
		__sync_fetch_and_add(&writes_in_flight, 1);
		return;
	}
	/* A stale entry of this thread (an exit we never saw): replace it. */
	if (bpf_map_update_elem(&pending_writes, &tid, w, BPF_EXIST))
		count_lost();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct pending_write w = {};
	struct super_block *sb;
	struct inode *inode;
	struct file *file;
	const void *fops;
	const void *buf;
	int version;
	__u32 n;

	/* Runs on every syscall of the node: reject cheaply, in this order. */
	if (id != NR_write)
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
	w.count = PT_REGS_PARM3(regs);
	if (!w.count || !watched_cgroup_file(inode, sb, version, &w.cg))
		return 0;
	buf = (const void *)PT_REGS_PARM2(regs);
	n = w.count < FP_DATA_LEN ? w.count : FP_DATA_LEN;
	if (bpf_probe_read_user(w.data, n & (FP_DATA_LEN * 2 - 1), buf) == 0)
		w.data_len = n;
	else
		w.flags |= FP_WRITE_DATA_FAULT;
	w.start_ns = bpf_ktime_get_ns();
	remember_write((__u32)bpf_get_current_pid_tgid(), &w);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct pending_write *w;
	struct fp_write_event *e;
	__u64 pid_tgid, now;
	__u32 tid;

	if (!writes_in_flight)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tid = (__u32)pid_tgid;
	w = bpf_map_lookup_elem(&pending_writes, &tid);
	if (!w)
		return 0;
	now = bpf_ktime_get_ns();

	e = reserve_event(sizeof(*e));
	if (e) {
		e->hdr.type = FP_EVENT_WRITE;
		e->hdr.cpu = bpf_get_smp_processor_id();
		e->hdr.time_ns = w->start_ns;
		e->latency_ns = now - w->start_ns;
		e->cgroup_id = w->cg.cgroup_id;
		e->ret = ret;
		e->count = w->count;
		e->pid = pid_tgid >> 32;
		e->tid = tid;
		e->dev = w->cg.dev;
		e->file = w->cg.file;
		e->cgroup_version = w->cg.version;
		e->data_len = w->data_len;
		e->flags = w->flags;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		__builtin_memcpy(e->data, w->data, sizeof(e->data));
		bpf_ringbuf_submit(e, 0);
	}
	if (bpf_map_delete_elem(&pending_writes, &tid) == 0)
		__sync_fetch_and_add(&writes_in_flight, -1);
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
