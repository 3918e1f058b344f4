/* symfile.h — kernel symbols for gdb from a System.map or /proc/kallsyms text: gdb reads only object
 * files, so the text becomes a minimal ELF64 with a symbol table (`symbol-file` loads it). */
#ifndef RRVM_GDB_SYMFILE_H
#define RRVM_GDB_SYMFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SYMFILE_MAX_TEXT (256u << 20)   /* bytes of System.map text read at most */
#define SYMFILE_MAX_SYMS (1u << 22)     /* symbols at most (a distribution kernel has ~200k) */
#define SYMFILE_MAX_NAME 255            /* longest symbol name accepted */

/* True when the file at path starts with the ELF magic. */
bool symfile__is_elf(const char *path);

/* Parses System.map / kallsyms text ("ADDRESS TYPE NAME [MODULE]" lines, hex
 * address, one type letter; empty lines, CRLF and nm's address-less U/w/v
 * lines allowed) and builds an ELF64
 * x86-64 image holding its symbols: t/T/w/W as functions in a section with no
 * file contents that spans them (sizes run to the next function), the other
 * defined ones as absolute objects; U, a/A and address-0 lines are left out.
 * Anything else is refused with the line number in err: *elf (malloc'd, the
 * caller frees) and *nsyms only on success. 0 or -errno. */
int symfile__from_text(const char *text, size_t len, uint8_t **elf, size_t *elf_len, size_t *nsyms,
		       struct rrvm_err *err);

/* Reads map_path (at most SYMFILE_MAX_TEXT bytes) and writes its ELF to a new
 * file out_path (mode 0600, must not exist). 0 or -errno with err. */
int symfile__convert(const char *map_path, const char *out_path, size_t *nsyms, struct rrvm_err *err);

#endif
