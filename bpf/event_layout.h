/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Pins the layout of the records the BPF programs put in the ring buffer. Included by the BPF
 * programs (compiled by clang for the BPF target) and by the C++ loader's tests (the host
 * compiler): if either compiler disagrees with these numbers the build fails, so both sides see
 * the same offsets. Changing the layout on purpose means changing these numbers in the same
 * commit as freezeprobe_events.h.
 */
#ifndef FREEZEPROBE_EVENT_LAYOUT_H
#define FREEZEPROBE_EVENT_LAYOUT_H

#include "freezeprobe_events.h"

#ifdef __cplusplus
#include <cstddef>
#define FP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define FP_OFFSETOF(type, field) offsetof(type, field)
#define FP_ALIGNOF(type) alignof(type)
#else
#define FP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define FP_OFFSETOF(type, field) __builtin_offsetof(type, field)
#define FP_ALIGNOF(type) _Alignof(type)
#endif
#define FP_FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/*
 * One field's offset and size; 64-bit fields on 8-byte boundaries with explicit padding only:
 * BPF aligns __u64 to 8 but some ABIs (i386) to 4, so implicit padding could differ.
 */
#define FP_PIN(type, field, offset, size)                                                          \
	FP_STATIC_ASSERT(FP_OFFSETOF(struct type, field) == (offset), #type "." #field " moved");  \
	FP_STATIC_ASSERT(FP_FIELD_SIZE(struct type, field) == (size),                              \
			 #type "." #field " changed size");                                        \
	FP_STATIC_ASSERT(FP_FIELD_SIZE(struct type, field) != 8 ||                                 \
				 FP_OFFSETOF(struct type, field) % 8 == 0,                         \
			 #type "." #field " is a 64-bit field off an 8-byte boundary")

FP_PIN(fp_event_header, type, 0, 4);
FP_PIN(fp_event_header, cpu, 4, 4);
FP_PIN(fp_event_header, time_ns, 8, 8);
FP_STATIC_ASSERT(sizeof(struct fp_event_header) == 16, "fp_event_header size");

FP_PIN(fp_io_event, hdr, 0, 16);
FP_PIN(fp_io_event, latency_ns, 16, 8);
FP_PIN(fp_io_event, cgroup_id, 24, 8);
FP_PIN(fp_io_event, ret, 32, 8);
FP_PIN(fp_io_event, count, 40, 8);
FP_PIN(fp_io_event, pid, 48, 4);
FP_PIN(fp_io_event, tid, 52, 4);
FP_PIN(fp_io_event, dev, 56, 4);
FP_PIN(fp_io_event, file, 60, 2);
FP_PIN(fp_io_event, cgroup_version, 62, 2);
FP_PIN(fp_io_event, data_len, 64, 4);
FP_PIN(fp_io_event, flags, 68, 4);
FP_PIN(fp_io_event, comm, 72, FP_COMM_LEN);
FP_PIN(fp_io_event, data, 88, FP_DATA_LEN);
FP_PIN(fp_io_event, lock_wait_ns, 120, 8);
FP_STATIC_ASSERT(sizeof(struct fp_io_event) == 128, "fp_io_event size");

FP_PIN(fp_cgroup_event, hdr, 0, 16);
FP_PIN(fp_cgroup_event, cgroup_id, 16, 8);
FP_PIN(fp_cgroup_event, hierarchy_id, 24, 4);
FP_PIN(fp_cgroup_event, level, 28, 4);
FP_PIN(fp_cgroup_event, op, 32, 4);
FP_PIN(fp_cgroup_event, val, 36, 4);
FP_PIN(fp_cgroup_event, pid, 40, 4);
FP_PIN(fp_cgroup_event, tid, 44, 4);
FP_PIN(fp_cgroup_event, task_pid, 48, 4);
FP_PIN(fp_cgroup_event, task_tid, 52, 4);
FP_PIN(fp_cgroup_event, path_len, 56, 4);
FP_PIN(fp_cgroup_event, pad, 60, 4);
FP_PIN(fp_cgroup_event, comm, 64, FP_COMM_LEN);
FP_PIN(fp_cgroup_event, task_comm, 80, FP_COMM_LEN);
FP_PIN(fp_cgroup_event, path, 96, FP_PATH_LEN);
FP_STATIC_ASSERT(sizeof(struct fp_cgroup_event) == 1120, "fp_cgroup_event size");

/* No tail padding that one compiler might add and the other not. */
FP_STATIC_ASSERT(sizeof(struct fp_io_event) % 8 == 0 && sizeof(struct fp_cgroup_event) % 8 == 0,
		 "records end on an 8-byte boundary");
FP_STATIC_ASSERT(FP_ALIGNOF(struct fp_io_event) == 8 && FP_ALIGNOF(struct fp_cgroup_event) == 8,
		 "records are 8-byte aligned");

/* The numbers that travel in the records are part of the contract too. */
FP_STATIC_ASSERT(FP_COMM_LEN == 16 && FP_DATA_LEN == 32 && FP_PATH_LEN == 1024, "lengths");
FP_STATIC_ASSERT(FP_EVENT_WRITE == 1 && FP_EVENT_CGROUP == 2 && FP_EVENT_READ == 3, "types");
FP_STATIC_ASSERT(FP_FILE_UNKNOWN == 0 && FP_FILE_FREEZER_STATE == 1 && FP_FILE_CGROUP_FREEZE == 2 &&
			 FP_FILE_CGROUP_PROCS == 3 && FP_FILE_TASKS == 4 &&
			 FP_FILE_CGROUP_THREADS == 5,
		 "file numbers");
FP_STATIC_ASSERT(FP_CG_FREEZE == 1 && FP_CG_UNFREEZE == 2 && FP_CG_NOTIFY_FROZEN == 3 &&
			 FP_CG_ATTACH_TASK == 4 && FP_CG_MKDIR == 5 && FP_CG_RMDIR == 6 &&
			 FP_CG_RELEASE == 7,
		 "cgroup operation numbers");
FP_STATIC_ASSERT(FP_WRITE_DATA_FAULT == 1u, "flags");

#endif /* FREEZEPROBE_EVENT_LAYOUT_H */
