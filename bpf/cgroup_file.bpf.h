/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Deciding whether a file is a cgroup control file we watch, and which cgroup
 * it belongs to. Kernel memory is read only through CO-RE.
 */
#ifndef FREEZEPROBE_CGROUP_FILE_BPF_H
#define FREEZEPROBE_CGROUP_FILE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "freezeprobe_events.h"

#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270

/* Before 6.15 the kernfs parent pointer was called "parent". */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/*
 * Helpers newer than the oldest kernel served (5.8), each with another way that every kernel
 * offers. The loader sets these before load from what the kernel really supports
 * (libbpf_probe_bpf_helper); the verifier then follows only the branch that the kernel can run,
 * so the call to a helper it does not know is never looked at.
 */
const volatile bool have_current_task_btf = false; /* bpf_get_current_task_btf, 5.11 */
const volatile bool have_task_pt_regs = false;	   /* bpf_task_pt_regs, 5.15 */

/*
 * The open file behind fd in the current task, or NULL. With bpf_get_current_task_btf, the task,
 * its fd table and the table's bounds are read through BTF pointers (plain loads); without it,
 * through CO-RE reads from bpf_get_current_task(). Only the slot itself needs a helper.
 */
static __always_inline struct file *current_fd_file(unsigned int fd)
{
	struct file **slots;
	struct file *file = NULL;
	unsigned int max_fds;

	if (have_current_task_btf) {
		struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;

		max_fds = fdt->max_fds;
		slots = fdt->fd;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);

		max_fds = BPF_CORE_READ(fdt, max_fds);
		slots = BPF_CORE_READ(fdt, fd);
	}
	if (fd >= max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &slots[fd]);
	return file;
}

/*
 * The file_operations of kernfs files, learned from the first file seen on a cgroup filesystem
 * (the symbol is not in kallsyms without CONFIG_KALLSYMS_ALL; the loader reads one cgroup file
 * right after attaching, never writes one: a write takes cgroup_mutex). Once known, a write to
 * any other kind of file costs one read of its f_op; only kernfs files (cgroupfs, sysfs) go on to
 * the superblock check.
 */
const void *kernfs_file_fops = NULL;

/* Returns 1 or 2 for a superblock of cgroup v1 or v2, 0 otherwise. */
static __always_inline int cgroup_fs_version(struct super_block *sb)
{
	unsigned long magic = BPF_CORE_READ(sb, s_magic);

	if (magic == CGROUP2_SUPER_MAGIC)
		return 2;
	if (magic == CGROUP_SUPER_MAGIC)
		return 1;
	return 0;
}

static __always_inline bool name_is(const char *name, const char *want, int len)
{
	/* len includes the NUL so that "tasks" does not match "tasks_x". */
	for (int i = 0; i < len; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* Maps a kernfs file name to the control file we watch for this operation. */
static __always_inline enum fp_file classify_name(const char name[16], bool reading)
{
	if (reading) {
		if (name_is(name, "freezer.state", 14))
			return FP_FILE_FREEZER_STATE;
		if (name_is(name, "cgroup.events", 14))
			return FP_FILE_CGROUP_EVENTS;
		return FP_FILE_UNKNOWN;
	}
	if (name_is(name, "cgroup.procs", 13))
		return FP_FILE_CGROUP_PROCS;
	if (name_is(name, "freezer.state", 14))
		return FP_FILE_FREEZER_STATE;
	if (name_is(name, "cgroup.freeze", 14))
		return FP_FILE_CGROUP_FREEZE;
	if (name_is(name, "tasks", 6))
		return FP_FILE_TASKS;
	if (name_is(name, "cgroup.threads", 15))
		return FP_FILE_CGROUP_THREADS;
	return FP_FILE_UNKNOWN;
}

struct watched_file {
	__u64 cgroup_id;
	__u32 dev;
	__u16 file;
	__u16 version;
};

/*
 * Fills *out when inode, on a cgroup filesystem of the given version, is a control file we
 * watch for writing or for reading. kernfs keeps the file's kernfs_node in i_private; its parent
 * directory is the cgroup. The hierarchy is named by the superblock's device rather than by the
 * struct cgroup, which may already be freed when the cgroup was removed while the file stayed open.
 */
static __always_inline bool watched_cgroup_file(struct inode *inode, struct super_block *sb,
						int version, bool reading, struct watched_file *out)
{
	struct kernfs_node *kn, *dir;
	char name[16] = {};

	kn = BPF_CORE_READ(inode, i_private);
	if (!kn || bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(kn, name)) < 0)
		return false;
	out->file = classify_name(name, reading);
	if (out->file == FP_FILE_UNKNOWN)
		return false;
	dir = kernfs_parent(kn);
	if (!dir)
		return false;
	out->cgroup_id = BPF_CORE_READ(dir, id);
	out->dev = BPF_CORE_READ(sb, s_dev);
	out->version = version;
	return true;
}

#endif
