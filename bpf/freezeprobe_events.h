/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The only contract between the BPF programs and the C++ loader: the records
 * that travel through the ring buffer. Both sides include this file; the C++
 * side pins the layout with static_asserts (tests/unit/event_layout_test.cpp).
 */
#ifndef FREEZEPROBE_EVENTS_H
#define FREEZEPROBE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FP_COMM_LEN 16
/* Bytes of a write's buffer copied into the event: "FROZEN\n", pids, "1". */
#define FP_DATA_LEN 32
/* Tracepoint path buffer; the kernel's own trace_cgroup_path is 1024 bytes. */
#define FP_PATH_LEN 1024

enum fp_event_type {
	FP_EVENT_WRITE = 1,  /* a write(2) to a cgroup control file (struct fp_io_event) */
	FP_EVENT_CGROUP = 2, /* a cgroup tracepoint (struct fp_cgroup_event) */
	FP_EVENT_READ = 3,   /* a read(2) of a freeze state file (struct fp_io_event) */
};

/* Which control file a write went to. */
enum fp_file {
	FP_FILE_UNKNOWN = 0,
	FP_FILE_FREEZER_STATE = 1, /* v1 legacy freezer */
	FP_FILE_CGROUP_FREEZE = 2, /* v2 */
	FP_FILE_CGROUP_PROCS = 3,
	FP_FILE_TASKS = 4, /* v1 */
	FP_FILE_CGROUP_THREADS = 5,
	FP_FILE_CGROUP_EVENTS = 6, /* v2, read only: "frozen 0|1" */
};

/* Which cgroup tracepoint fired. */
enum fp_cgroup_op {
	FP_CG_FREEZE = 1,
	FP_CG_UNFREEZE = 2,
	FP_CG_NOTIFY_FROZEN = 3,
	FP_CG_ATTACH_TASK = 4,
	FP_CG_MKDIR = 5,
	FP_CG_RMDIR = 6,
	FP_CG_RELEASE = 7,
};

struct fp_event_header {
	__u32 type; /* enum fp_event_type */
	__u32 cpu;
	__u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};

struct fp_io_event {
	struct fp_event_header hdr; /* time_ns: syscall entry */
	__u64 latency_ns; /* syscall entry to exit, or kernfs entry to exit (fentry/kprobe) */
	__u64 cgroup_id;  /* kernfs id of the file's directory */
	__s64 ret;	  /* bytes written or -errno */
	__u64 count;	  /* bytes the writer asked to write */
	__u32 pid;	  /* writer tgid */
	__u32 tid;
	__u32 dev;	      /* the cgroup filesystem's s_dev (kernel encoding MAJOR<<20|MINOR) */
	__u16 file;	      /* enum fp_file */
	__u16 cgroup_version; /* 1 or 2, from the superblock magic */
	__u32 data_len;	      /* valid bytes in data */
	__u32 flags;	      /* FP_WRITE_* */
	char comm[FP_COMM_LEN];
	char data[FP_DATA_LEN];
	__u64 lock_wait_ns; /* time spent taking cgroup_mutex; valid with FP_IO_LOCK_WAIT */
};

/* The bytes could not be read, or the mode could not see them (data_len is 0). */
#define FP_WRITE_DATA_FAULT 1u
/* lock_wait_ns is known (fentry and kprobe modes, writes that took the cgroup lock). */
#define FP_IO_LOCK_WAIT 2u

struct fp_cgroup_event {
	struct fp_event_header hdr;
	__u64 cgroup_id;
	__s32 hierarchy_id;
	__s32 level;
	__u32 op;  /* enum fp_cgroup_op */
	__s32 val; /* notify_frozen: 1 frozen / 0 not; attach_task: threadgroup */
	__u32 pid; /* current task (the writer) */
	__u32 tid;
	__u32 task_pid; /* attach_task: the migrated task's tgid and tid */
	__u32 task_tid;
	__u32 path_len; /* bytes in path without the NUL; 0 if unreadable */
	__u32 pad;
	char comm[FP_COMM_LEN];
	char task_comm[FP_COMM_LEN];
	char path[FP_PATH_LEN];
};

/*
 * One task, as the task_scan iterator writes it when a freeze stalls: enough to tell a frozen
 * task from one that holds the freeze up, which /proc cannot (a v1 task frozen in place shows
 * "D" with its old wchan, like a task in an uninterruptible sleep).
 */
struct fp_task_state {
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 state;	  /* task_struct.__state */
	__u32 flags;	  /* task_struct.flags */
	__u32 exit_state; /* EXIT_ZOMBIE / EXIT_DEAD, or 0 */
	__u32 v1_frozen;  /* frozen by the v1 freezer (TASK_FROZEN, or PF_FROZEN before 6.1) */
	__u32 v2_frozen;  /* task_struct.frozen: counted frozen by the v2 freezer */
	/*
	 * Whether the task's freezer asks for it to be frozen at the moment it was read, with the
	 * rest: v1, its freezer cgroup is FREEZING (itself or through a parent); v2, its cgroup's
	 * effective freeze count is non-zero. A scan can then tell a blocker from a task that is
	 * merely thawed (runc thaws for 10 ms every 50 tries) without reading the state around it.
	 */
	__u32 v1_freezing;
	__u32 v2_freezing;
};

/*
 * Forks into a cgroup whose freeze is pending (fork_count.bpf.h): not records but two maps the
 * loader fills and reads. freeze_pending is keyed with pid 0, fork_forkers by forking process.
 */
#define FP_FORK_CGROUPS 1024
#define FP_FORK_FORKERS 4096

struct fp_fork_key {
	__u64 cgroup_id; /* kernfs id of the cgroup's directory */
	__u32 version;	 /* 1: the v1 freezer hierarchy, 2: the unified hierarchy */
	__u32 pid;	 /* fork_forkers: the forking process (tgid); 0 in freeze_pending */
};

struct fp_forker {
	__u64 forks;
	char comm[FP_COMM_LEN]; /* at its first counted fork */
};

#endif /* FREEZEPROBE_EVENTS_H */
