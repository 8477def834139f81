/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracepoint attach mode: writes to cgroup control files, and reads of the freeze state files,
 * caught at the raw syscall tracepoints (raw_syscalls:sys_enter/sys_exit through tp_btf, which
 * need no tracefs). Works on any kernel with BTF, at the price of running on every syscall.
 */
#ifndef FREEZEPROBE_SYSCALL_HOOKS_BPF_H
#define FREEZEPROBE_SYSCALL_HOOKS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pending_io.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define NR_read 0
#define NR_write 1
#elif defined(__TARGET_ARCH_arm64)
#define NR_read 63
#define NR_write 64
#else
#error "unsupported architecture"
#endif

/* A read(2) or write(2) on entry: remembered if its file is a watched cgroup file. */
static __always_inline int remember_cgroup_file_io(struct pt_regs *regs, bool reading)
{
	struct pending_io io = {};
	struct super_block *sb;
	struct inode *inode;
	struct file *file;
	const void *fops;
	int version;

	file = current_fd_file((unsigned int)PT_REGS_PARM1(regs));
	if (!file)
		return 0;
	fops = BPF_CORE_READ(file, f_op);
	if (kernfs_file_fops && fops != kernfs_file_fops)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	sb = BPF_CORE_READ(inode, i_sb);
	version = cgroup_fs_version(sb);
	if (!version)
		return 0;
	kernfs_file_fops = fops;

	/* A zero-byte write or read says nothing. */
	io.count = PT_REGS_PARM3(regs);
	if (!io.count || !watched_cgroup_file(inode, sb, version, reading, &io.cg))
		return 0;
	io.buf = (const void *)PT_REGS_PARM2(regs);
	io.type = reading ? FP_EVENT_READ : FP_EVENT_WRITE;
	if (!reading) {
		io.data_len = copy_data(io.data, io.buf, io.count, true);
		if (!io.data_len)
			io.flags |= FP_WRITE_DATA_FAULT;
	}
	io.start_ns = bpf_ktime_get_ns();
	remember_io(current_tid(), &io);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	/*
	 * Runs on every syscall of the node: the id first, before anything else (the zeroing of
	 * the pending record stays behind this test, in the function above).
	 */
	if (id != NR_write && id != NR_read)
		return 0;
	return remember_cgroup_file_io(regs, id == NR_read);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct pending_io *io;
	struct fp_io_event *e;
	__u32 tid;

	if (!io_in_flight)
		return 0;
	tid = current_tid();
	io = bpf_map_lookup_elem(&pending_ios, &tid);
	if (!io)
		return 0;
	/* A read that returned nothing (end of file, an error) tells nothing about the state. */
	if (io->type == FP_EVENT_WRITE || ret > 0) {
		e = start_io_event(io, ret);
		if (e) {
			if (io->type == FP_EVENT_READ)
				set_read_data(e, io->buf, ret, true);
			submit_io_event(e);
		}
	}
	forget_io(tid);
	return 0;
}

#endif
