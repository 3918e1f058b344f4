/* entry32.S — PVH entry (QEMU -kernel): ELF note, 32-bit stub that builds boot page tables and enters long mode. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	/* The PVH note QEMU looks for: name "Xen", type 18, 32-bit entry address. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4                          /* namesz */
	.long 4                          /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

	/* Boot page tables for the PVH path only (C builds the real ones later). */
	.section .noinit, "aw", @nobits
	.p2align 12
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096

	.section .text.boot32, "ax"
	.code32
	/* Entered in 32-bit protected mode, paging off, EBX = hvm_start_info. */
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov	%ebx, %esi

	/* Zero PML4 and PDPT (2 pages of dwords). */
	mov	$boot_pml4, %edi
	xor	%eax, %eax
	mov	$2048, %ecx
	rep stosl

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four PDs. */
	movl	$boot_pdpt + 3, boot_pml4
	mov	$boot_pdpt, %edi
	mov	$boot_pd + 3, %eax
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$4096, %eax
	add	$8, %edi
	loop	1b

	/* 2048 PD entries: identity map of 0..4 GiB with 2 MiB pages (P|W|PS). */
	mov	$boot_pd, %edi
	mov	$0x83, %eax
	mov	$2048, %ecx
2:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	2b

	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax              /* PAE */
	mov	%eax, %cr4
	mov	$0xC0000080, %ecx        /* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	lgdt	gdt_ptr
	mov	%cr0, %eax
	or	$0x80000001, %eax        /* PG | PE */
	mov	%eax, %cr0
	ljmp	$0x10, $pvh_start64

	.code64
pvh_start64:
	mov	$0x18, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%esi, %edi               /* zero-extends: RDI = RBX = start_info */
	mov	%rdi, %rbx
	jmp	entry64
