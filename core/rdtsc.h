/* rdtsc.h — RDTSC/RDTSCP rewriting: the reserved ports, the load-time rewrite of a Linux kernel, the monitor's answer. */
#ifndef RRVM_RDTSC_H
#define RRVM_RDTSC_H

#include <stdint.h>
#include "core/err.h"

/*
 * Stock KVM cannot trap a ring-0 RDTSC, and Linux executes it with the TSC
 * hidden (shared HOST.md, "Linux and the TSC"). So the loader finds every
 * RDTSC (0f 31) and RDTSCP (0f 01 f9) in the kernel's executable sections,
 * alternative replacements included, by disassembly, and overwrites each in
 * guest RAM with an instruction of the same length that exits to the monitor:
 *
 *   rdtsc   0f 31     ->  in eax, RRVM_TSC_PORT        e5 e0
 *   rdtscp  0f 01 f9  ->  in eax, RRVM_TSCP_PORT; nop  e5 e4 90
 *
 * The "tscport" device (core/tsc_port.c; tscport__create in devices.h)
 * answers the 4-byte IN with the low half of the guest TSC and leaves the
 * whole answer in vm->rdtsc_last; vcpu__apply_rdtsc then puts the high half
 * in RDX (and TSC_AUX in RCX for RDTSCP) before the vCPU resumes. Two ports, so the kind of site is known
 * from the exit alone. Both ports are 4-byte regions nothing on a PC uses
 * (0xe0-0xe7: no ISA device; 0xe9, QEMU's debugcon, and 0xed, Linux's
 * alternative io_delay port, are left alone).
 */
#define RRVM_TSC_PORT   0xe0   /* IN here: RDTSC  (EAX = TSC low, RDX = TSC high) */
#define RRVM_TSCP_PORT  0xe4   /* IN here: RDTSCP (... and ECX = TSC_AUX) */

struct vm;
struct guest_mem;
struct load_info;
struct ksrc;

/* Rewrites the RDTSC/RDTSCP instructions of the Linux ELF kernel `s` whose
 * segments elf__load has just copied into guest RAM (info->seg[] filled).
 * Walks every SHF_EXECINSTR section of the section header table, maps it
 * to guest-physical memory through the loaded segment holding its sh_addr,
 * disassembles it linearly with capstone (skipping undecodable bytes) and
 * patches each RDTSC/RDTSCP in RAM; counts them in info->rdtsc_sites /
 * rdtscp_sites and lists them in info->tsc_site[]. A kernel without a
 * readable section table is left as it is (info->tsc_scanned stays 0). With
 * RRVM_DEBUG_RDTSC=1 in the environment every site is printed on stderr
 * with its section, address, bytes and surrounding instructions, followed by
 * every 0f 31 / 0f 01 f9 byte pattern that is NOT an instruction (inside
 * another instruction or in skipped data), so a human can audit the sweep.
 * Cost: a full sweep of Debian's cloud kernel (2.6 M instructions after
 * int3 padding) takes ~1 s on the development host and ~15 s inside the SVM
 * lane (QEMU TCG); sections with no 0f 31 / 0f 01 f9 bytes are not swept.
 * 0, or -ENOMEM/-EIO/-ENOEXEC with a message. */
int rdtsc__rewrite(struct guest_mem *m, const struct ksrc *s, struct load_info *info, struct rrvm_err *err);

/* Completes a rewritten site after its IN exit was serviced: when
 * vm->rdtsc_last.valid is set, records the site's RIP in it and writes RDX
 * (TSC high half) and, for RDTSCP, RCX (TSC_AUX) with KVM_GET_REGS /
 * KVM_SET_REGS. Call in the vCPU thread right after the PIO handler ran,
 * before the next KVM_RUN (which completes the IN: EAX and RIP). Leaves
 * `valid` set: the recorder clears it once it has logged the value.
 * 0 or -errno. */
int vcpu__apply_rdtsc(struct vm *vm);

#endif
