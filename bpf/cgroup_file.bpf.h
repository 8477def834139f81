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

/* The open file behind fd in the current task, or NULL. */
static __always_inline struct file *current_fd_file(unsigned int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **slots;
	struct file *file = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	slots = BPF_CORE_READ(fdt, fd);
	bpf_core_read(&file, sizeof(file), &slots[fd]);
	return file;
}

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

/* Maps a kernfs file name to the control file we watch. */
static __always_inline enum fp_file classify_name(const char name[16])
{
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
 * Fills *out when inode is a watched control file on a cgroup filesystem.
 * kernfs keeps the file's kernfs_node in i_private; its parent directory is
 * the cgroup. The hierarchy is named by the superblock's device rather than
 * by the struct cgroup, which may already be freed when the cgroup was removed
 * while the file stayed open.
 */
static __always_inline bool watched_cgroup_file(struct inode *inode, struct watched_file *out)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	struct kernfs_node *kn, *dir;
	char name[16] = {};
	int version = cgroup_fs_version(sb);

	if (!version)
		return false;
	kn = BPF_CORE_READ(inode, i_private);
	if (!kn || bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(kn, name)) < 0)
		return false;
	out->file = classify_name(name);
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
