// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A task-file iterator run when a blocker waits on FUSE: one fp_fuse_fd per open /dev/fuse
 * descriptor, with the connection it serves (file->private_data is the struct fuse_dev that
 * fs/fuse/dev.c installs at mount time). Threads sharing a file table are visited once.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "fuse_fd_record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The misc device /dev/fuse: major 10, minor 229, in the kernel's dev_t encoding. */
#define FUSE_KDEV ((10u << 20) | 229u)
#define S_IFMT 00170000
#define S_IFCHR 0020000

/* Local views, so that this builds against a vmlinux.h without the FUSE types. */
struct fuse_conn___fp {
	dev_t dev;
} __attribute__((preserve_access_index));

struct fuse_dev___fp {
	struct fuse_conn___fp *fc;
} __attribute__((preserve_access_index));

SEC("iter/task_file")
int fuse_fds(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct fp_fuse_fd out = {};
	struct fuse_dev___fp *fud;
	struct fuse_conn___fp *fc;
	struct inode *inode;

	if (!task || !file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFCHR ||
	    BPF_CORE_READ(inode, i_rdev) != FUSE_KDEV)
		return 0;
	out.pid = task->tgid;
	out.fd = ctx->fd;
	fud = BPF_CORE_READ(file, private_data);
	if (fud) {
		fc = BPF_CORE_READ(fud, fc);
		if (fc)
			out.conn_dev = BPF_CORE_READ(fc, dev);
	}
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}
