// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A task iterator run on demand when a freeze stalls: one fp_task_state per
 * user task that its v1 or v2 freezer asks to freeze (every other task is left
 * in the kernel). It needs no trampoline, so it works in every attach mode.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "freezeprobe_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD 0x00200000
#define PF_FROZEN 0x00010000 /* before 6.1; the bit was freed by the freezer rewrite */
#define TASK_FROZEN 0x8000   /* 6.1 and later */

/* Before 5.14 the task state was a long called "state". */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* cgroup_freezing(): the task's v1 freezer cgroup is freezing, by itself or through a parent. */
static __always_inline __u32 v1_freezing(struct task_struct *task)
{
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, freezer_cgrp_id) ||
	    !bpf_core_enum_value_exists(enum freezer_state_flags, CGROUP_FREEZING))
		return 0; /* no v1 freezer in this kernel */
	int id = bpf_core_enum_value(enum cgroup_subsys_id, freezer_cgrp_id);
	struct cgroup_subsys_state *css;

	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return 0;
	css = BPF_CORE_READ(task, cgroups, subsys[id]);
	if (!css)
		return 0;
	/* struct freezer (kernel/cgroup/legacy_freezer.c) starts with its css. */
	return (BPF_CORE_READ((struct freezer *)css, state) &
		bpf_core_enum_value(enum freezer_state_flags, CGROUP_FREEZING)) != 0;
}

SEC("iter/task")
int scan_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct fp_task_state s = {};

	if (!task || (task->flags & PF_KTHREAD))
		return 0;
	/*
	 * Only tasks whose freezer asks them to freeze go to userspace: a task nobody is freezing
	 * neither blocks a freeze nor is held by one, and a big node has tens of thousands of
	 * them, read every few milliseconds while a freeze is pending.
	 */
	s.v1_freezing = v1_freezing(task);
	s.v2_freezing = BPF_CORE_READ(task, cgroups, dfl_cgrp, freezer.e_freeze) > 0;
	if (!s.v1_freezing && !s.v2_freezing)
		return 0;
	s.pid = task->tgid;
	s.tid = task->pid;
	if (bpf_core_field_exists(task->__state))
		s.state = task->__state;
	else
		s.state = BPF_CORE_READ((struct task_struct___old *)task, state);
	s.flags = task->flags;
	s.exit_state = task->exit_state;
	/*
	 * The 6.1 freezer rewrite puts a frozen task in TASK_FROZEN (a state bit no earlier
	 * kernel used) and stopped setting PF_FROZEN; before 6.1 only PF_FROZEN says it. Neither
	 * the kernel version nor a task_struct field tells which freezer runs (saved_state only
	 * became unconditional in 6.7), so both are read; user tasks never carry the other bit.
	 */
	s.v1_frozen = (s.state & TASK_FROZEN) || (s.flags & PF_FROZEN);
	s.v2_frozen = BPF_CORE_READ_BITFIELD(task, frozen);
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}
