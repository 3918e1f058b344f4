/* trace_codec.c — CRC32C, record encoding (type + length + LEB128 fields), chunk headers, section containers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>

#include "record/trace_codec.h"

/* CRC32C table for the reflected polynomial 0x82F63B78. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t trace_codec__crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t trace__value_hash(const void *data, size_t len)
{
	return trace_codec__crc32c(0, data, len);
}

const char *trace__rec_name(uint32_t type)
{
	static const char *const names[TR__COUNT] = {
		[TR_EXIT] = "exit", [TR_IN_VALUE] = "in_value", [TR_IRQ] = "irq",
		[TR_LANDMARK] = "landmark", [TR_DEFERRAL] = "deferral", [TR_CONSOLE_OUT] = "console_out",
		[TR_CONSOLE_IN] = "console_in", [TR_DMA] = "dma", [TR_RDTSC] = "rdtsc",
		[TR_SNAPSHOT] = "snapshot", [TR_STOP] = "stop", [TR_REGS] = "regs",
	};
	return type > 0 && type < TR__COUNT ? names[type] : "unknown";
}

const char *trace__reg_name(unsigned i)
{
	static const char *const names[TRACE_NREGS] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
		"r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
	};
	return i < TRACE_NREGS ? names[i] : "?";
}

/* ---- records ----------------------------------------------------------- */

/* TR_EXIT flag byte. */
#define EXF_DIR_MASK 0x03
#define EXF_VALUE 0x04
#define EXF_SAME_ADDR 0x08
#define EXF_COUNT 0x10
#define EXF_SIZE_SHIFT 5     /* 2 bits: 0 = varint size follows, 1 = 1 byte, 2 = 2 bytes, 3 = 4 bytes */
#define EXF_SIZE_MASK 0x60
#define EXF_HASH_IMPLIED 0x80 /* hash omitted: it is trace__value_hash_u64(value, size) */

#define HEAD_MAX 96          /* longest fixed part of any record but TR_REGS */
/* TR_REGS: type, length (payload <= 183 bytes: a 2-byte varint), mask, one varint per register. */
#define TC_REGS_MAX (1 + 2 + 3 + TRACE_NREGS * TC_VARINT_MAX)

static unsigned size_code(uint32_t size)
{
	switch (size) {
	case 1: return 1;
	case 2: return 2;
	case 4: return 3;
	default: return 0;
	}
}

uint32_t trace__value_hash_u64(uint64_t value, uint32_t size)
{
	uint8_t b[8];
	if (size > 8)
		size = 8;
	tc_put64(b, value);
	return trace_codec__crc32c(0, b, size);
}

/* Byte string carried by ev (the last field of its payload), or NULL. */
const uint8_t *trace_codec__blob(const struct trace_event *ev, uint32_t *len)
{
	switch (ev->type) {
	case TR_IN_VALUE: *len = ev->u.in.len; return ev->u.in.data;
	case TR_CONSOLE_OUT:
	case TR_CONSOLE_IN: *len = ev->u.bytes.len; return ev->u.bytes.data;
	case TR_DMA: *len = ev->u.dma.len; return ev->u.dma.data;
	case TR_SNAPSHOT: *len = ev->u.snapshot.len; return ev->u.snapshot.name;
	case TR_STOP: *len = ev->u.stop.len; return ev->u.stop.msg;
	default: *len = 0; return NULL;
	}
}

static int has_blob(uint32_t type)
{
	return type == TR_IN_VALUE || type == TR_CONSOLE_OUT || type == TR_CONSOLE_IN || type == TR_DMA ||
	       type == TR_SNAPSHOT || type == TR_STOP;
}

size_t trace_codec__max_size(const struct trace_event *ev)
{
	uint32_t len;
	if (ev->type == TR_EXIT)
		return TC_EXIT_MAX;
	if (ev->type == TR_REGS)
		return TC_REGS_MAX;
	trace_codec__blob(ev, &len);
	return 1 + TC_VARINT_MAX + HEAD_MAX + TC_VARINT_MAX + len;
}

/* TR_EXIT, the hot path: coded in place (its payload is always < 128 bytes, so a one-byte length). */
static size_t encode_exit(uint8_t *dst, const struct trace_event *ev, struct tc_state *st)
{
	const struct trace_exit *x = &ev->u.exit;
	unsigned sc = size_code(x->size);
	int same = st->have_addr && x->addr == st->addr;
	int implied = x->has_value && x->size <= 8 && x->hash == trace__value_hash_u64(x->value, x->size);
	uint8_t fl = (uint8_t)((x->dir & EXF_DIR_MASK) | (sc << EXF_SIZE_SHIFT));
	uint8_t *q = dst + 2;

	fl |= x->has_value ? EXF_VALUE : 0;
	fl |= same ? EXF_SAME_ADDR : 0;
	fl |= x->count > 1 ? EXF_COUNT : 0;
	fl |= implied ? EXF_HASH_IMPLIED : 0;
	*q++ = x->reason;
	*q++ = fl;
	if (!same)
		q += tc_varint_put(q, x->addr);
	if (sc == 0)
		q += tc_varint_put(q, x->size);
	if (x->count > 1)
		q += tc_varint_put(q, x->count);
	if (!implied) {
		tc_put32(q, x->hash);
		q += 4;
	}
	q += tc_varint_put(q, tc_zigzag((int64_t)(ev->time_ns - st->time_ns)));
	if (x->has_value)
		q += tc_varint_put(q, x->value);
	dst[0] = TR_EXIT;
	dst[1] = (uint8_t)(q - dst - 2);
	st->exits++;
	st->time_ns = ev->time_ns;
	st->addr = x->addr;
	st->have_addr = 1;
	return (size_t)(q - dst);
}

/* TR_REGS payload: varint mask of the registers that differ from the chunk's
 * previous TR_REGS (zero at a chunk start), then for each, in slot order, the
 * zigzag varint of (new - previous) mod 2^64. */
static size_t encode_regs(uint8_t *dst, const struct trace_event *ev, struct tc_state *st)
{
	uint8_t *q = dst + 3;   /* payload first, then type and length in front of it (memmove) */
	uint32_t mask = 0;
	for (unsigned i = 0; i < TRACE_NREGS; i++)
		if (ev->u.regs.v[i] != st->regs[i])
			mask |= 1u << i;
	q += tc_varint_put(q, mask);
	for (unsigned i = 0; i < TRACE_NREGS; i++) {
		if (!(mask & (1u << i)))
			continue;
		q += tc_varint_put(q, tc_zigzag((int64_t)(ev->u.regs.v[i] - st->regs[i])));
		st->regs[i] = ev->u.regs.v[i];
	}
	size_t plen = (size_t)(q - dst - 3);
	size_t n = 0;
	dst[n++] = TR_REGS;
	n += tc_varint_put(dst + n, plen);
	memmove(dst + n, dst + 3, plen);
	return n + plen;
}

size_t trace_codec__encode(uint8_t *dst, const struct trace_event *ev, struct tc_state *st)
{
	uint8_t head[HEAD_MAX];
	size_t h = 0;

	switch (ev->type) {
	case TR_EXIT:
		return encode_exit(dst, ev, st);
	case TR_REGS:
		return encode_regs(dst, ev, st);
	case TR_IN_VALUE:
		h += tc_varint_put(head + h, ev->u.in.size);
		h += tc_varint_put(head + h, ev->u.in.value);
		break;
	case TR_IRQ:
		h += tc_varint_put(head + h, ev->u.irq.vector);
		break;
	case TR_LANDMARK:
		h += tc_varint_put(head + h, ev->u.landmark.rip);
		tc_put64(head + h, ev->u.landmark.fingerprint);
		h += 8;
		h += tc_varint_put(head + h, ev->u.landmark.hits);
		h += tc_varint_put(head + h, ev->u.landmark.vector);
		break;
	case TR_DEFERRAL:
		h += tc_varint_put(head + h, ev->u.deferral.rip);
		h += tc_varint_put(head + h, ev->u.deferral.reason);
		break;
	case TR_DMA:
		h += tc_varint_put(head + h, ev->u.dma.gpa);
		break;
	case TR_RDTSC:
		h += tc_varint_put(head + h, ev->u.rdtsc.rip);
		h += tc_varint_put(head + h, ev->u.rdtsc.value);
		h += tc_varint_put(head + h, ev->u.rdtsc.aux);
		break;
	case TR_SNAPSHOT:
		h += tc_varint_put(head + h, ev->u.snapshot.id);
		break;
	case TR_STOP:
		h += tc_varint_put(head + h, ev->u.stop.reason);
		h += tc_varint_put(head + h, tc_zigzag(ev->u.stop.status));
		break;
	default: /* TR_CONSOLE_OUT / TR_CONSOLE_IN: blob only */
		break;
	}

	uint32_t blen = 0;
	const uint8_t *blob = trace_codec__blob(ev, &blen);
	size_t plen = h + (has_blob(ev->type) ? tc_varint_len(blen) + blen : 0);
	size_t n = 0;
	dst[n++] = (uint8_t)ev->type;
	n += tc_varint_put(dst + n, plen);
	memcpy(dst + n, head, h);
	n += h;
	if (has_blob(ev->type)) {
		n += tc_varint_put(dst + n, blen);
		if (blen)
			memcpy(dst + n, blob, blen);
		n += blen;
	}
	return n;
}

/* Field readers over one payload; any failure sets *bad. */
static uint64_t rd_v(const uint8_t **p, const uint8_t *end, int *bad)
{
	uint64_t v = 0;
	if (tc_varint_get(p, end, &v))
		*bad = 1;
	return v;
}
static uint32_t rd_v32(const uint8_t **p, const uint8_t *end, int *bad)
{
	uint64_t v = rd_v(p, end, bad);
	if (v > UINT32_MAX)
		*bad = 1;
	return (uint32_t)v;
}
static const uint8_t *rd_blob(const uint8_t **p, const uint8_t *end, uint32_t *len, int *bad)
{
	uint64_t n = rd_v(p, end, bad);
	if (*bad || n > TRACE_MAX_BYTES || n > (uint64_t)(end - *p)) {
		*bad = 1;
		*len = 0;
		return NULL;
	}
	const uint8_t *b = *p;
	*p += n;
	*len = (uint32_t)n;
	return n ? b : NULL;
}

int trace_codec__decode(const uint8_t **pp, const uint8_t *end, struct trace_event *ev, struct tc_state *st,
			const char **why)
{
	const uint8_t *p = *pp;
	uint64_t plen;
	int bad = 0;

	memset(ev, 0, sizeof(*ev));
	ev->type = *p++;
	if (ev->type == 0) {
		*why = "record type 0";
		return -1;
	}
	if (tc_varint_get(&p, end, &plen) || plen > (uint64_t)(end - p)) {
		*why = "record length runs past the chunk";
		return -1;
	}
	const uint8_t *q = p, *pend = p + plen;
	*pp = pend;
	if (ev->type >= TR__COUNT) {
		ev->event_no = st->exits;
		ev->time_ns = st->time_ns;
		return 0;
	}

	switch (ev->type) {
	case TR_EXIT: {
		struct trace_exit *x = &ev->u.exit;
		if (pend - q < 2) {
			bad = 1;
			break;
		}
		x->reason = *q++;
		uint8_t fl = *q++;
		unsigned sc = (fl & EXF_SIZE_MASK) >> EXF_SIZE_SHIFT;
		static const uint32_t sizes[] = { 0, 1, 2, 4 };
		x->dir = fl & EXF_DIR_MASK;
		if (x->dir == 3) {
			*why = "exit record with reserved direction 3";
			return -1;
		}
		x->has_value = (fl & EXF_VALUE) != 0;
		if (fl & EXF_SAME_ADDR) {
			if (!st->have_addr) {
				*why = "same-address exit with no exit before it in the chunk";
				return -1;
			}
			x->addr = st->addr;
		} else {
			x->addr = rd_v(&q, pend, &bad);
		}
		x->size = sc ? sizes[sc] : rd_v32(&q, pend, &bad);
		x->count = (fl & EXF_COUNT) ? rd_v32(&q, pend, &bad) : 1;
		if ((fl & EXF_HASH_IMPLIED) && (!x->has_value || x->size > 8)) {
			*why = "exit record implies a hash it cannot derive";
			return -1;
		}
		if (!(fl & EXF_HASH_IMPLIED)) {
			if (pend - q < 4) {
				bad = 1;
				break;
			}
			x->hash = tc_get32(q);
			q += 4;
		}
		ev->time_ns = st->time_ns + (uint64_t)tc_unzigzag(rd_v(&q, pend, &bad));
		if (x->has_value)
			x->value = rd_v(&q, pend, &bad);
		if (bad)
			break;
		if (fl & EXF_HASH_IMPLIED)
			x->hash = trace__value_hash_u64(x->value, x->size);
		if (st->exits == UINT64_MAX) {
			*why = "event number overflow";
			return -1;
		}
		ev->event_no = ++st->exits;
		st->time_ns = ev->time_ns;
		st->addr = x->addr;
		st->have_addr = 1;
		return 1;
	}
	case TR_IN_VALUE:
		ev->u.in.size = rd_v32(&q, pend, &bad);
		ev->u.in.value = rd_v(&q, pend, &bad);
		break;
	case TR_IRQ:
		ev->u.irq.vector = rd_v32(&q, pend, &bad);
		break;
	case TR_LANDMARK:
		ev->u.landmark.rip = rd_v(&q, pend, &bad);
		if (!bad && pend - q >= 8) {
			ev->u.landmark.fingerprint = tc_get64(q);
			q += 8;
		} else {
			bad = 1;
		}
		ev->u.landmark.hits = rd_v32(&q, pend, &bad);
		ev->u.landmark.vector = rd_v32(&q, pend, &bad);
		break;
	case TR_DEFERRAL:
		ev->u.deferral.rip = rd_v(&q, pend, &bad);
		ev->u.deferral.reason = rd_v32(&q, pend, &bad);
		break;
	case TR_DMA:
		ev->u.dma.gpa = rd_v(&q, pend, &bad);
		break;
	case TR_RDTSC:
		ev->u.rdtsc.rip = rd_v(&q, pend, &bad);
		ev->u.rdtsc.value = rd_v(&q, pend, &bad);
		ev->u.rdtsc.aux = rd_v32(&q, pend, &bad);
		break;
	case TR_SNAPSHOT:
		ev->u.snapshot.id = rd_v(&q, pend, &bad);
		break;
	case TR_STOP:
		ev->u.stop.reason = rd_v32(&q, pend, &bad);
		ev->u.stop.status = tc_unzigzag(rd_v(&q, pend, &bad));
		break;
	case TR_REGS: {
		uint64_t mask = rd_v(&q, pend, &bad);
		if (!bad && mask >> TRACE_NREGS) {
			*why = "regs record names a register slot past rflags";
			return -1;
		}
		uint64_t v[TRACE_NREGS];
		for (unsigned i = 0; i < TRACE_NREGS; i++)
			v[i] = st->regs[i] + ((mask >> i & 1) ? (uint64_t)tc_unzigzag(rd_v(&q, pend, &bad)) : 0);
		if (bad)
			break;
		memcpy(st->regs, v, sizeof(v));
		memcpy(ev->u.regs.v, v, sizeof(v));
		ev->u.regs.changed = (uint32_t)mask;
		break;
	}
	default:
		break;
	}
	if (!bad && has_blob(ev->type)) {
		uint32_t len;
		const uint8_t *b = rd_blob(&q, pend, &len, &bad);
		switch (ev->type) {
		case TR_IN_VALUE: ev->u.in.data = b; ev->u.in.len = len; break;
		case TR_DMA: ev->u.dma.data = b; ev->u.dma.len = len; break;
		case TR_SNAPSHOT: ev->u.snapshot.name = b; ev->u.snapshot.len = len; break;
		case TR_STOP: ev->u.stop.msg = b; ev->u.stop.len = len; break;
		default: ev->u.bytes.data = b; ev->u.bytes.len = len; break;
		}
	}
	if (bad) {
		*why = "record fields run past its length or overflow";
		return -1;
	}
	/* Trailing payload bytes are fields a later minor version added. */
	ev->event_no = st->exits;
	ev->time_ns = st->time_ns;
	return 1;
}

/* ---- events file --------------------------------------------------------- */

void trace_codec__events_preamble(uint8_t out[TC_EVENTS_PREAMBLE], const uint8_t uuid[TRACE_UUID_LEN])
{
	memset(out, 0, TC_EVENTS_PREAMBLE);
	memcpy(out, TC_EVENTS_MAGIC, 8);
	tc_put16(out + 8, TRACE_FORMAT_MAJOR);
	tc_put16(out + 10, TRACE_FORMAT_MINOR);
	memcpy(out + 12, uuid, TRACE_UUID_LEN);
	tc_put32(out + 28, trace_codec__crc32c(0, out, 28));
}

void trace_codec__chunk_hdr_put(uint8_t *p, const struct trace_chunk_info *ci, uint32_t body_crc)
{
	tc_put32(p + 0, TC_CHUNK_MAGIC);
	tc_put16(p + 4, TC_CHUNK_HDR_LEN);
	p[6] = (uint8_t)ci->codec;
	p[7] = 0;
	tc_put64(p + 8, ci->seq);
	tc_put64(p + 16, ci->base_event);
	tc_put64(p + 24, ci->base_time_ns);
	tc_put64(p + 32, ci->first_event);
	tc_put64(p + 40, ci->last_event);
	tc_put64(p + 48, ci->first_time_ns);
	tc_put64(p + 56, ci->last_time_ns);
	tc_put32(p + 64, ci->n_records);
	tc_put32(p + 68, ci->n_exits);
	tc_put32(p + 72, ci->raw_len);
	tc_put32(p + 76, ci->comp_len);
	tc_put32(p + 80, body_crc);
	tc_put32(p + 84, trace_codec__crc32c(0, p, TC_CHUNK_HDR_LEN - 4));
}

int trace_codec__chunk_hdr_len(const uint8_t *p)
{
	uint16_t n = tc_get16(p + 4);
	if (tc_get32(p) != TC_CHUNK_MAGIC || n < TC_CHUNK_HDR_LEN || n > TC_CHUNK_HDR_MAX)
		return -1;
	return n;
}

int trace_codec__chunk_hdr_get(const uint8_t *p, uint32_t hdr_len, struct trace_chunk_info *ci,
			       uint32_t *body_crc, const char **why)
{
	if (tc_get32(p + hdr_len - 4) != trace_codec__crc32c(0, p, hdr_len - 4)) {
		*why = "chunk header checksum mismatch";
		return -1;
	}
	ci->codec = p[6];
	ci->seq = tc_get64(p + 8);
	ci->base_event = tc_get64(p + 16);
	ci->base_time_ns = tc_get64(p + 24);
	ci->first_event = tc_get64(p + 32);
	ci->last_event = tc_get64(p + 40);
	ci->first_time_ns = tc_get64(p + 48);
	ci->last_time_ns = tc_get64(p + 56);
	ci->n_records = tc_get32(p + 64);
	ci->n_exits = tc_get32(p + 68);
	ci->raw_len = tc_get32(p + 72);
	ci->comp_len = tc_get32(p + 76);
	*body_crc = tc_get32(p + 80);
	*why = NULL;
	if (ci->codec != TC_CODEC_STORED && ci->codec != TC_CODEC_LZ4)
		*why = "unknown chunk codec";
	else if (ci->n_records == 0 || ci->n_exits > ci->n_records || ci->raw_len > TC_CHUNK_RAW_MAX ||
		 ci->raw_len / 2 < ci->n_records)
		*why = "chunk sizes or counts out of range";
	else if (ci->codec == TC_CODEC_STORED ? ci->comp_len != ci->raw_len
		 : ci->comp_len == 0 || ci->comp_len > (uint32_t)LZ4_compressBound((int)ci->raw_len))
		*why = "chunk compressed size out of range";
	else if (ci->last_event - ci->base_event != ci->n_exits || ci->last_event < ci->base_event ||
		 (ci->first_event != ci->base_event && ci->first_event != ci->base_event + 1) ||
		 ci->first_event > ci->last_event)
		*why = "chunk event numbers inconsistent";
	else if (ci->n_exits == 0 && (ci->first_time_ns != ci->base_time_ns || ci->last_time_ns != ci->base_time_ns))
		*why = "chunk times inconsistent";
	return *why ? -1 : 0;
}

/* ---- containers ---------------------------------------------------------- */

void tc_buf_put(struct tc_buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}
void tc_buf_u8(struct tc_buf *b, uint8_t v) { tc_buf_put(b, &v, 1); }
void tc_buf_u16(struct tc_buf *b, uint16_t v) { uint8_t x[2]; tc_put16(x, v); tc_buf_put(b, x, 2); }
void tc_buf_u32(struct tc_buf *b, uint32_t v) { uint8_t x[4]; tc_put32(x, v); tc_buf_put(b, x, 4); }
void tc_buf_u64(struct tc_buf *b, uint64_t v) { uint8_t x[8]; tc_put64(x, v); tc_buf_put(b, x, 8); }
void tc_buf_str(struct tc_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	tc_buf_u32(b, (uint32_t)n);
	tc_buf_put(b, s, n);
}

void tc_buf_container(struct tc_buf *b, const char *magic, uint16_t major, uint16_t minor)
{
	uint8_t pre[TC_CONTAINER_PREAMBLE] = { 0 };
	memcpy(pre, magic, strlen(magic));
	tc_put16(pre + 8, major);
	tc_put16(pre + 10, minor);
	tc_put32(pre + 12, trace_codec__crc32c(0, pre, 12));
	tc_buf_put(b, pre, sizeof(pre));
}

size_t tc_buf_section_begin(struct tc_buf *b, uint32_t id)
{
	size_t start = b->len;
	tc_buf_u32(b, id);
	tc_buf_u32(b, 0);
	return start;
}

void tc_buf_section_end(struct tc_buf *b, size_t start)
{
	if (b->oom)
		return;
	tc_put32(b->p + start + 4, (uint32_t)(b->len - start - 8));
	tc_buf_u32(b, trace_codec__crc32c(0, b->p + start, b->len - start));
}

static const uint8_t *rd_take(struct tc_rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}
uint8_t tc_rd_u8(struct tc_rd *r) { const uint8_t *p = rd_take(r, 1); return p ? p[0] : 0; }
uint16_t tc_rd_u16(struct tc_rd *r) { const uint8_t *p = rd_take(r, 2); return p ? tc_get16(p) : 0; }
uint32_t tc_rd_u32(struct tc_rd *r) { const uint8_t *p = rd_take(r, 4); return p ? tc_get32(p) : 0; }
uint64_t tc_rd_u64(struct tc_rd *r) { const uint8_t *p = rd_take(r, 8); return p ? tc_get64(p) : 0; }
const uint8_t *tc_rd_bytes(struct tc_rd *r, size_t n) { return rd_take(r, n); }

void tc_rd_str(struct tc_rd *r, char *dst, size_t cap)
{
	uint32_t n = tc_rd_u32(r);
	const uint8_t *s = n < cap ? rd_take(r, n) : NULL;
	if (!s || memchr(s, 0, n)) {
		r->bad = 1;
		dst[0] = 0;
		return;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

char *tc_rd_strdup(struct tc_rd *r)
{
	uint32_t n = tc_rd_u32(r);
	const uint8_t *s = rd_take(r, n);
	if (!s || memchr(s, 0, n)) {
		r->bad = 1;
		return NULL;
	}
	char *d = malloc((size_t)n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

int trace_codec__container_open(const uint8_t *buf, size_t len, const char *magic, const char *file,
				uint16_t *major, uint16_t *minor, struct rrvm_err *err)
{
	uint8_t want[8] = { 0 };
	memcpy(want, magic, strlen(magic));
	if (len < TC_CONTAINER_PREAMBLE)
		return err__set(err, -EBADMSG, "%s: truncated at offset %zu: %zu-byte preamble expected", file, len,
				(size_t)TC_CONTAINER_PREAMBLE);
	if (memcmp(buf, want, 8))
		return err__set(err, -EBADMSG, "%s: offset 0: bad magic (not an rrvm %s file)", file, file);
	if (tc_get32(buf + 12) != trace_codec__crc32c(0, buf, 12))
		return err__set(err, -EBADMSG, "%s: offset 12: preamble checksum mismatch", file);
	*major = tc_get16(buf + 8);
	*minor = tc_get16(buf + 10);
	if (*major != TRACE_FORMAT_MAJOR)
		return err__set(err, -EPROTONOSUPPORT,
				"%s: trace format version %u.%u; this rrvm reads version %u.x (writes %u.%u)", file,
				*major, *minor, TRACE_FORMAT_MAJOR, TRACE_FORMAT_MAJOR, TRACE_FORMAT_MINOR);
	return 0;
}

int trace_codec__container_next(const uint8_t *buf, size_t len, size_t *off, struct tc_section *s,
				const char *file, struct rrvm_err *err)
{
	size_t o = *off;
	if (len - o < 12)
		return err__set(err, -EBADMSG, "%s: truncated at offset %zu: section header expected", file, len);
	s->id = tc_get32(buf + o);
	s->len = tc_get32(buf + o + 4);
	s->offset = o;
	if (s->len > TC_SECTION_MAX || s->len > len - o - 12)
		return err__set(err, -EBADMSG, "%s: offset %zu: section %u length %u runs past the end (%zu bytes)",
				file, o, s->id, s->len, len);
	if (tc_get32(buf + o + 8 + s->len) != trace_codec__crc32c(0, buf + o, 8 + (size_t)s->len))
		return err__set(err, -EBADMSG, "%s: offset %zu: section %u checksum mismatch", file, o, s->id);
	s->payload = buf + o + 8;
	*off = o + 12 + s->len;
	if (s->id == 0) {
		if (s->len != 0 || *off != len)
			return err__set(err, -EBADMSG, "%s: offset %zu: malformed end section or data after it", file,
					o);
		return 0;
	}
	return 1;
}
