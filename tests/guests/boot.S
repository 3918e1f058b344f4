/* boot.S — 64-bit entry (rrvm), GDT, interrupt stubs and the common trap path. */

	.section .data
	.p2align 4
	.globl gdt
gdt:
	.quad 0                          /* 0x00 null */
	.quad 0x00cf9b000000ffff         /* 0x08 kernel code, 32-bit (PVH stub) */
	.quad 0x00af9b000000ffff         /* 0x10 kernel code, 64-bit */
	.quad 0x00cf93000000ffff         /* 0x18 kernel data */
	.quad 0x00cffb000000ffff         /* 0x20 user code, 32-bit (unused) */
	.quad 0x00cff3000000ffff         /* 0x28 user data */
	.quad 0x00affb000000ffff         /* 0x30 user code, 64-bit */
	.quad 0, 0                       /* 0x38 TSS, filled in by cpu.c */
gdt_end:
	.p2align 3
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .noinit, "aw", @nobits
	.p2align 12
boot_stack:	.skip 16384
	.globl boot_stack_top
boot_stack_top:

	.section .text
	.code64
	/* rrvm entry: long mode, CPL0, IF=0, RDI = RBX = hvm_start_info. */
	.globl entry64
entry64:
	cli
	cld
	mov	$boot_stack_top, %esp
	mov	%rdi, %rbx
	mov	$__bss_start, %edi       /* zero .bss (kept small on purpose) */
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$3, %ecx
	xor	%eax, %eax
	rep stosq
	mov	%rbx, %rdi
	call	kmain
1:	cli
	hlt
	jmp	1b

	/* One stub per vector: push a dummy error code where the CPU does not. */
.macro ISR vec, haserr
	.p2align 4
isr_\vec:
	.if \haserr == 0
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
.endm

.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	ISR \v, 0
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
	ISR \v, 1
.endr
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,128
	ISR \v, 0
.endr

	/* Saves the GPRs (struct frame), calls trap_dispatch(frame) and resumes
	 * whatever frame it returns: the same one, or another task's. */
isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	trap_dispatch
	mov	%rax, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp                /* vector and error code */
	iretq

	/* kernel_yield(): what `int $0x80` with RAX=SYS_YIELD would do, built by
	 * hand because this host's ring-0 emulator rejects INT from CPL 0. It
	 * pushes an interrupt frame that resumes at the `ret` below. */
	.globl kernel_yield
kernel_yield:
	mov	%rsp, %rax
	pushq	$0x18                    /* SS */
	push	%rax                     /* RSP: pointing at our return address */
	pushfq
	pushq	$0x10                    /* CS */
	lea	1f(%rip), %rax
	push	%rax                     /* RIP */
	pushq	$0                       /* error code */
	pushq	$0x80                    /* vector */
	mov	$3, %eax                 /* SYS_YIELD */
	jmp	isr_common
1:	ret

	/* Stub addresses for vectors 0..47 (cpu.c installs them) and 0x80. */
	.section .rodata
	.p2align 3
	.globl isr_table
isr_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\v
.endr
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad isr_\v
.endr
	.globl isr_syscall
isr_syscall:
	.quad isr_128
