/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tasks created in a cgroup while a freeze of it is pending: a fork storm is what a freezer's
 * retry loop cannot outrun, as joins through cgroup.procs are. sched_process_fork fires in
 * kernel_clone after copy_process has put the child in its cgroups (cgroup_post_fork, which is
 * also where the v1 freezer_fork and the v2 freezer mark a child of a freezing cgroup), so the
 * child's own cgroups are read: a plain fork or thread, and a clone3 with CLONE_INTO_CGROUP,
 * whose child starts in the target cgroup. It is a tracepoint, so every attach mode loads it.
 *
 * Nothing is sent per fork: the loader puts the cgroups whose freeze is pending into
 * freeze_pending (from the freeze requests the userspace pipeline sees) and sets
 * freezes_pending; with none pending a fork costs one load. Otherwise the child's v2 cgroup and
 * v1 freezer cgroup, and their ancestors up to FP_FORK_DEPTH levels (a freeze covers the
 * cgroup's descendants), are looked up; a hit counts the fork for that cgroup and for the
 * forking process in fork_forkers, which the loader reads when it reports the episode.
 */
#ifndef FREEZEPROBE_FORK_COUNT_BPF_H
#define FREEZEPROBE_FORK_COUNT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "freezeprobe_events.h"

/* The cgroup itself and up to seven levels of descendants under it are counted. */
#define FP_FORK_DEPTH 8

/* key.pid is 0; the value is the forks counted for the cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_FORK_CGROUPS);
	__type(key, struct fp_fork_key);
	__type(value, __u64);
} freeze_pending SEC(".maps");

/* Per cgroup and forking process (tgid); a full map counts the fork for the cgroup only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_FORK_FORKERS);
	__type(key, struct fp_fork_key);
	__type(value, struct fp_forker);
} fork_forkers SEC(".maps");

/* Entries in freeze_pending, kept by the loader: zero makes a fork cost one load. */
__u32 freezes_pending = 0;

static __always_inline void count_forker(const struct fp_fork_key *cgroup)
{
	struct fp_fork_key key = *cgroup;
	struct fp_forker *f, init = {.forks = 1};

	key.pid = bpf_get_current_pid_tgid() >> 32;
	f = bpf_map_lookup_elem(&fork_forkers, &key);
	if (f) {
		__sync_fetch_and_add(&f->forks, 1);
		return;
	}
	bpf_get_current_comm(init.comm, sizeof(init.comm));
	if (bpf_map_update_elem(&fork_forkers, &key, &init, BPF_NOEXIST) == 0)
		return;
	f = bpf_map_lookup_elem(&fork_forkers, &key); /* another CPU added it meanwhile */
	if (f)
		__sync_fetch_and_add(&f->forks, 1);
}

/* Counts the fork for the nearest pending cgroup at or above css; true if there was one. */
static __always_inline bool count_fork_under(struct cgroup_subsys_state *css, __u32 version)
{
	struct fp_fork_key key = {.version = version};
	__u64 *n;

	for (int i = 0; i < FP_FORK_DEPTH; i++) {
		if (!css)
			return false;
		key.cgroup_id = BPF_CORE_READ(css, cgroup, kn, id);
		n = bpf_map_lookup_elem(&freeze_pending, &key);
		if (n) {
			__sync_fetch_and_add(n, 1);
			count_forker(&key);
			return true;
		}
		css = BPF_CORE_READ(css, parent);
	}
	return false;
}

/* The task's v1 freezer css, or NULL without a v1 freezer in this kernel. */
static __always_inline struct cgroup_subsys_state *freezer_css(struct task_struct *task)
{
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, freezer_cgrp_id))
		return NULL;
	int id = bpf_core_enum_value(enum cgroup_subsys_id, freezer_cgrp_id);

	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return NULL;
	return BPF_CORE_READ(task, cgroups, subsys[id]);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_task_fork, struct task_struct *parent, struct task_struct *child)
{
	struct cgroup *dfl;

	if (!freezes_pending)
		return 0;
	dfl = BPF_CORE_READ(child, cgroups, dfl_cgrp);
	/* The v2 walk follows the cgroups' own css ("self") to their parents. */
	if (!count_fork_under(dfl ? &dfl->self : NULL, 2))
		count_fork_under(freezer_css(child), 1);
	return 0;
}

#endif
