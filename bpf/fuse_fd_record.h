/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One open /dev/fuse descriptor, as the fuse_daemons iterator writes it: which process holds
 * it and which FUSE connection it serves. /proc cannot tell (/dev/fuse has no fdinfo of its
 * own), and the connection is what names the daemon of a blocked FUSE request.
 */
#ifndef FREEZEPROBE_FUSE_FD_RECORD_H
#define FREEZEPROBE_FUSE_FD_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct fp_fuse_fd {
	__u32 pid; /* tgid of the holder */
	__u32 fd;
	/*
	 * fuse_conn.dev, the kernel dev_t of the mount's super block: its minor is the
	 * connection's number under /sys/fs/fuse/connections. 0: not mounted yet.
	 */
	__u32 conn_dev;
	__u32 pad;
};

#endif /* FREEZEPROBE_FUSE_FD_RECORD_H */
