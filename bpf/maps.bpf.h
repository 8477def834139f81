/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Ring buffer and drop accounting shared by every program. */
#ifndef FREEZEPROBE_MAPS_BPF_H
#define FREEZEPROBE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

/* Events that could not be queued, per CPU; the loader sums and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost_events, &zero);

	if (n)
		*n += 1;
}

/* Reserves a record in the ring buffer or counts it as lost. */
static __always_inline void *reserve_event(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count_lost();
	return e;
}

/*
 * Waking the reader costs the writer an irq_work and the reader a context switch per record.
 * Records about a freeze wake it (when it is idle: the kernel's default); bulk records
 * (cgroup.procs writes, migrations, mkdir) only once the ring holds wakeup_bytes, otherwise they
 * wait for the reader's next timed poll (at most 100 ms). Set by the loader before load.
 */
const volatile __u64 wakeup_bytes = 0;

static __always_inline __u64 wakeup_flags(bool urgent)
{
	if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return 0;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void submit_event(void *e, bool urgent)
{
	bpf_ringbuf_submit(e, wakeup_flags(urgent));
}

#endif
