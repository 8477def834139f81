/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A watched write or read between its start and its end, keyed by thread id, and the record
 * made of it at the end. Every attach mode uses these; only where start and end are hooked
 * differs (syscall tracepoints, or the kernfs functions with fentry/fexit or kprobes).
 */
#ifndef FREEZEPROBE_PENDING_IO_BPF_H
#define FREEZEPROBE_PENDING_IO_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "freezeprobe_events.h"
#include "maps.bpf.h"
#include "cgroup_file.bpf.h"

struct pending_io {
	__u64 start_ns;
	__u64 count;
	const void *buf; /* tracepoint reads: the user buffer; kernfs reads: the seq_file */
	__u64 lock_start_ns;
	__u64 lock_wait_ns;
	struct watched_file cg;
	__u32 type; /* FP_EVENT_WRITE or FP_EVENT_READ */
	__u32 data_len;
	__u32 flags;
	__u32 syscall_nr; /* tracepoint mode: the syscall it began in (its end must match) */
	__u64 enter_seq;  /* tracepoint mode with spares: which of the thread's calls (io_calls) */
	char data[FP_DATA_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_io);
} pending_ios SEC(".maps");

/*
 * Number of entries in pending_ios. The tracepoint mode's sys_exit runs on every syscall of the
 * node; while no watched write or read is in flight it returns after this one load.
 */
__u64 io_in_flight = 0;

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/*
 * Remembers a write or read until its end. The thread's entry is still there when the end of its
 * last one was never seen (a kprobe-mode kretprobe misses returns when more calls are in flight
 * than its maxactive): that one is lost, and counted, and the new one replaces it. When
 * pending_ios is full, the new one is lost, and counted. (Entries of threads that are gone are
 * counted by the loader: BpfProbe::lost_events.)
 */
static __always_inline void remember_io(__u32 tid, const struct pending_io *io)
{
	long err = bpf_map_update_elem(&pending_ios, &tid, io, BPF_NOEXIST);

	if (!err) {
		__sync_fetch_and_add(&io_in_flight, 1);
		return;
	}
	count_lost();
	bpf_map_update_elem(&pending_ios, &tid, io, BPF_EXIST);
}

static __always_inline void forget_io(__u32 tid)
{
	if (bpf_map_delete_elem(&pending_ios, &tid) == 0)
		__sync_fetch_and_add(&io_in_flight, -1);
}

/* Copies up to FP_DATA_LEN bytes of a buffer into data; returns the count or 0 on a fault. */
static __always_inline __u32 copy_data(char data[FP_DATA_LEN], const void *src, __u64 len,
				       bool user)
{
	__u32 n = len < FP_DATA_LEN ? len : FP_DATA_LEN;
	long err;

	n &= FP_DATA_LEN * 2 - 1;
	err = user ? bpf_probe_read_user(data, n, src) : bpf_probe_read_kernel(data, n, src);
	return err ? 0 : n;
}

/*
 * Reserves and fills the record of a finished write or read, except its data for reads (the
 * caller copies what the read produced, from where the mode can see it). NULL if the ring
 * buffer is full (counted as lost).
 */
static __always_inline struct fp_io_event *start_io_event(const struct pending_io *io, long ret)
{
	struct fp_io_event *e = reserve_event(sizeof(*e));
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!e)
		return NULL;
	e->hdr.type = io->type;
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.time_ns = io->start_ns;
	e->latency_ns = bpf_ktime_get_ns() - io->start_ns;
	e->cgroup_id = io->cg.cgroup_id;
	e->ret = ret;
	e->count = io->count;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->dev = io->cg.dev;
	e->file = io->cg.file;
	e->cgroup_version = io->cg.version;
	e->flags = io->flags;
	e->lock_wait_ns = io->lock_wait_ns;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->data_len = io->data_len;
	__builtin_memcpy(e->data, io->data, sizeof(e->data));
	return e;
}

/* Freeze writes and state reads wake the reader; cgroup.procs writes are bulk. */
static __always_inline void submit_io_event(struct fp_io_event *e)
{
	submit_event(e, e->file != FP_FILE_CGROUP_PROCS && e->file != FP_FILE_TASKS &&
				e->file != FP_FILE_CGROUP_THREADS);
}

/* The bytes a read produced, for its record. */
static __always_inline void set_read_data(struct fp_io_event *e, const void *src, long len,
					  bool user)
{
	e->data_len = 0;
	if (len <= 0)
		return;
	e->data_len = copy_data(e->data, src, len, user);
	if (!e->data_len)
		e->flags |= FP_WRITE_DATA_FAULT;
}

#endif
