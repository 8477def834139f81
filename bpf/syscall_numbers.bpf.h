/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The syscall numbers the programs look for, and where a syscall's registers keep its number. */
#ifndef FREEZEPROBE_SYSCALL_NUMBERS_BPF_H
#define FREEZEPROBE_SYSCALL_NUMBERS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

#if defined(__TARGET_ARCH_x86)
#define NR_read 0
#define NR_write 1
#define NR_pwrite64 18
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_read 63
#define NR_write 64
#define NR_pwrite64 68
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#else
#error "unsupported architecture"
#endif

#endif
