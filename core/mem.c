/* mem.c — guest RAM allocation and checked guest-physical translation. */
#include "core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int mem__init(struct guest_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	if (size == 0 || size % MEM_PAGE_SIZE)
		return -EINVAL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, size, MADV_MERGEABLE);
	m->base = p;
	m->size = size;
	uint64_t low = size < MEM_LOW_LIMIT ? size : MEM_LOW_LIMIT;
	m->region[0] = (struct mem_region){ .gpa = 0, .size = low, .host = p };
	m->nr_regions = 1;
	if (size > low) {
		m->region[1] = (struct mem_region){
			.gpa = MEM_HIGH_BASE, .size = size - low, .host = (uint8_t *)p + low };
		m->nr_regions = 2;
	}
	return 0;
}

void mem__fini(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	memset(m, 0, sizeof(*m));
}

void *mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	uint64_t end;
	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int mem__read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = mem__ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int mem__write(struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = mem__ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	mem__mark_dirty(m, gpa, len);
	return 0;
}

void mem__mark_dirty(struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *p = m->user_dirty ? mem__ptr(m, gpa, len) : NULL;
	if (!p)
		return;
	uint64_t first = (uint64_t)(p - m->base) / MEM_PAGE_SIZE;
	uint64_t last = ((uint64_t)(p - m->base) + (len ? len : 1) - 1) / MEM_PAGE_SIZE;
	for (uint64_t pg = first; pg <= last; pg++)
		m->user_dirty[pg / 64] |= 1ull << (pg % 64);
}

bool mem__is_ram(const struct guest_mem *m, uint64_t gpa)
{
	return mem__ptr(m, gpa, 1) != NULL;
}

int mem__parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if ((*end == 'i' || *end == 'B') && shift)
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > (~0ull >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}
