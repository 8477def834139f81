// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * freezeprobe kernel side.
 *
 * Writes to cgroup control files, and reads of the freeze state files (v1
 * completion is only visible there), are caught in one of three attach modes:
 * at the raw syscall tracepoints (syscall_hooks.bpf.h), or inside the kernfs
 * and cgroup functions with fentry/fexit or kprobes (kernfs_hooks.bpf.h). The
 * loader loads one mode's programs. In every mode the kernel's cgroup
 * tracepoints below report freeze transitions, migrations and cgroup
 * creation/removal, and sched_process_fork counts forks into cgroups whose
 * freeze is pending (fork_count.bpf.h). Every record goes through one ring buffer; records that
 * do not fit are counted in lost_events.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "freezeprobe_events.h"
#include "event_layout.h"
#include "maps.bpf.h"
#include "cgroup_file.bpf.h"
#include "syscall_hooks.bpf.h"
#include "kernfs_hooks.bpf.h"
#include "fork_count.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Cgroup records are built here and sent with only the path bytes in use. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_cgroup_event);
} cgroup_scratch SEC(".maps");

/* One cgroup tracepoint record; the path is copied when the kernel gave one. */
static __always_inline int emit_cgroup_event(enum fp_cgroup_op op, struct cgroup *cgrp,
					     const char *path, struct task_struct *task, int val)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct fp_cgroup_event *e;
	__u32 zero = 0, size;
	long len;

	e = bpf_map_lookup_elem(&cgroup_scratch, &zero);
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
	size = offsetof(struct fp_cgroup_event, path) + (e->path_len & (FP_PATH_LEN - 1)) + 1;
	/* Migrations and mkdir/rmdir/release are bulk; freeze transitions wake the reader. */
	if (bpf_ringbuf_output(&events, e, size,
			       wakeup_flags(op == FP_CG_FREEZE || op == FP_CG_UNFREEZE ||
					    op == FP_CG_NOTIFY_FROZEN)))
		count_lost();
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
