/* decompress.c — gzip (zlib), LZ4 legacy frames (liblz4) and xz (liblzma) decoding of kernel payloads. */
#include "core/decompress.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <zlib.h>
#ifdef RRVM_HAVE_LZMA
#include <lzma.h>
#endif

#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8u << 20)  /* output of one legacy block, at most */

struct magic {
	const char *name;
	uint8_t bytes[6];
	size_t n;
	bool supported;
};

static const struct magic magics[] = {
	{ "gzip", { 0x1f, 0x8b }, 2, true },
	{ "lz4", { 0x02, 0x21, 0x4c, 0x18 }, 4, true },
#ifdef RRVM_HAVE_LZMA
	{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, true },
#else
	{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, false },
#endif
	{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4, false },
	{ "bzip2", { 'B', 'Z', 'h' }, 3, false },
	{ "lzo", { 0x89, 'L', 'Z', 'O' }, 4, false },
	{ "lzma", { 0x5d, 0x00, 0x00 }, 3, false },
};

const char *decompress__detect(const uint8_t *in, size_t len, bool *supported)
{
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		if (len >= magics[i].n && !memcmp(in, magics[i].bytes, magics[i].n)) {
			if (supported)
				*supported = magics[i].supported;
			return magics[i].name;
		}
	}
	if (supported)
		*supported = false;
	return NULL;
}

/* Output buffer growing up to `max` bytes. */
struct obuf {
	uint8_t *p;
	size_t len, cap, max;
};

/* Makes room for at least `want` more bytes when the cap allows (fewer when
 * it does not). -ENOMEM when allocation fails. */
static int obuf_reserve(struct obuf *o, size_t want)
{
	size_t need = o->len + (want < o->max - o->len ? want : o->max - o->len);
	if (need <= o->cap)
		return 0;
	size_t cap = o->cap ? o->cap : (1u << 20);
	while (cap < need)
		cap = cap > o->max / 2 ? o->max : cap * 2;
	if (cap > o->max)
		cap = o->max;
	uint8_t *p = realloc(o->p, cap);
	if (!p)
		return -ENOMEM;
	o->p = p;
	o->cap = cap;
	return 0;
}

static int gzip_decode(const char *name, const uint8_t *in, size_t len, uint64_t base,
		       struct obuf *o, struct rrvm_err *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (len > UINT_MAX)
		return err__set(err, -EFBIG, "%s: gzip payload of %zu bytes is too large", name, len);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return err__set(err, -ENOMEM, "%s: cannot initialise zlib", name);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	int rc = 0;
	for (;;) {
		if (obuf_reserve(o, 4u << 20)) {
			rc = err__set(err, -ENOMEM, "%s: out of memory decompressing gzip", name);
			break;
		}
		size_t room = o->cap - o->len;
		uint8_t spare = 0;
		/* With the output full, a one-byte probe tells "the stream ends
		 * here" (only its trailer is left) from "more than the cap". */
		zs.next_out = room ? o->p + o->len : &spare;
		zs.avail_out = room > UINT_MAX ? UINT_MAX : room ? (uInt)room : 1;
		uInt before = zs.avail_out;
		int zr = inflate(&zs, Z_NO_FLUSH);
		if (!room && zs.avail_out == 0) {
			rc = err__set(err, -EFBIG,
				      "%s: gzip payload decompresses to more than %zu bytes (at input offset 0x%llx)",
				      name, o->max, (unsigned long long)(base + zs.total_in));
			break;
		}
		if (room)
			o->len += before - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK)
			continue;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = err__set(err, -EINVAL, "%s: gzip payload is truncated (input ends at offset 0x%llx)",
				      name, (unsigned long long)(base + zs.total_in));
			break;
		}
		if (zr == Z_BUF_ERROR && zs.avail_out == 0)
			continue;   /* output full: the next round grows or probes */
		rc = err__set(err, -EINVAL, "%s: gzip decompression failed at input offset 0x%llx: %s", name,
			      (unsigned long long)(base + zs.total_in), zs.msg ? zs.msg : "corrupt data");
		break;
	}
	inflateEnd(&zs);
	return rc;
}

static int lz4_decode(const char *name, const uint8_t *in, size_t len, uint64_t base,
		      struct obuf *o, struct rrvm_err *err)
{
	size_t pos = 0;
	bool framed = false;
	const size_t bound = (size_t)LZ4_compressBound(LZ4_LEGACY_BLOCK);
	while (pos < len) {
		if (len - pos < 4)
			return err__set(err, -EINVAL, "%s: lz4 payload is truncated at offset 0x%llx (%zu stray bytes)",
					name, (unsigned long long)(base + pos), len - pos);
		uint32_t word = (uint32_t)in[pos] | (uint32_t)in[pos + 1] << 8 |
				(uint32_t)in[pos + 2] << 16 | (uint32_t)in[pos + 3] << 24;
		if (word == LZ4_LEGACY_MAGIC) {  /* start of a (further) legacy frame */
			framed = true;
			pos += 4;
			continue;
		}
		if (!framed)
			return err__set(err, -EINVAL, "%s: lz4 payload does not start with a legacy frame magic", name);
		if (word == 0 || word > bound)
			return err__set(err, -EINVAL, "%s: lz4 block at offset 0x%llx has an invalid size %u", name,
					(unsigned long long)(base + pos), word);
		if (word > len - pos - 4)
			return err__set(err, -EINVAL,
					"%s: lz4 block at offset 0x%llx needs %u bytes, only %zu left: payload truncated",
					name, (unsigned long long)(base + pos), word, len - pos - 4);
		if (obuf_reserve(o, LZ4_LEGACY_BLOCK))
			return err__set(err, -ENOMEM, "%s: out of memory decompressing lz4", name);
		size_t room = o->cap - o->len;
		if (room > LZ4_LEGACY_BLOCK)
			room = LZ4_LEGACY_BLOCK;
		int n = room ? LZ4_decompress_safe((const char *)in + pos + 4, (char *)o->p + o->len, (int)word,
						   (int)room) : -1;
		if (n < 0) {
			if (room < LZ4_LEGACY_BLOCK && o->cap == o->max)
				return err__set(err, -EINVAL,
						"%s: lz4 block at offset 0x%llx is corrupt or decompresses past %zu bytes",
						name, (unsigned long long)(base + pos), o->max);
			return err__set(err, -EINVAL, "%s: lz4 decompression failed in the block at offset 0x%llx",
					name, (unsigned long long)(base + pos));
		}
		o->len += (size_t)n;
		pos += 4 + (size_t)word;
	}
	if (!framed)
		return err__set(err, -EINVAL, "%s: lz4 payload is empty", name);
	return 0;
}

#ifdef RRVM_HAVE_LZMA
static int xz_decode(const char *name, const uint8_t *in, size_t len, uint64_t base, struct obuf *o,
		     struct rrvm_err *err)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&xs, 256u << 20, 0) != LZMA_OK)
		return err__set(err, -ENOMEM, "%s: cannot initialise liblzma", name);
	xs.next_in = in;
	xs.avail_in = len;
	int rc = 0;
	for (;;) {
		if (obuf_reserve(o, 4u << 20)) {
			rc = err__set(err, -ENOMEM, "%s: out of memory decompressing xz", name);
			break;
		}
		size_t room = o->cap - o->len;
		uint8_t spare = 0;
		xs.next_out = room ? o->p + o->len : &spare;   /* probe as in gzip_decode */
		xs.avail_out = room ? room : 1;
		lzma_ret xr = lzma_code(&xs, LZMA_FINISH);
		if (!room && xs.avail_out == 0) {
			rc = err__set(err, -EFBIG,
				      "%s: xz payload decompresses to more than %zu bytes (at input offset 0x%llx)",
				      name, o->max, (unsigned long long)(base + xs.total_in));
			break;
		}
		if (room)
			o->len += room - xs.avail_out;
		if (xr == LZMA_STREAM_END)
			break;
		if (xr == LZMA_OK)
			continue;
		if (xr == LZMA_BUF_ERROR && xs.avail_out == 0)
			continue;
		rc = err__set(err, -EINVAL, "%s: xz decompression failed at input offset 0x%llx: %s", name,
			      (unsigned long long)(base + xs.total_in),
			      xr == LZMA_BUF_ERROR ? "truncated input" :
			      xr == LZMA_DATA_ERROR ? "corrupt data" :
			      xr == LZMA_FORMAT_ERROR ? "not an xz stream" :
			      xr == LZMA_OPTIONS_ERROR ? "unsupported options" :
			      xr == LZMA_MEMLIMIT_ERROR ? "needs too much memory" : "decoder error");
		break;
	}
	lzma_end(&xs);
	return rc;
}
#endif

int decompress__buffer(const char *name, const uint8_t *in, size_t len, uint64_t in_base,
		       size_t expect, size_t max_out, uint8_t **out, size_t *out_len,
		       struct rrvm_err *err)
{
	*out = NULL;
	*out_len = 0;
	bool ok;
	const char *fmt = decompress__detect(in, len, &ok);
	if (!fmt || !ok) {
		char hex[16] = "";
		for (size_t i = 0, pos = 0; i < 4 && i < len; i++)
			pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, i ? " %02x" : "%02x", in[i]);
		if (fmt)
			return err__set(err, -ENOTSUP, "%s: bzImage payload uses an unsupported compression (%s, magic %s)",
					name, fmt, hex);
		return err__set(err, -ENOTSUP, "%s: bzImage payload uses an unsupported compression (magic %s)", name,
				hex);
	}
	if (expect > max_out)
		return err__set(err, -EFBIG, "%s: payload size trailer claims %zu decompressed bytes, more than the %zu allowed",
				name, expect, max_out);
	struct obuf o = { .max = expect ? expect : max_out };
	if (expect && obuf_reserve(&o, expect))
		return err__set(err, -ENOMEM, "%s: cannot allocate %zu bytes for the decompressed payload", name,
				expect);
	int rc;
	if (!strcmp(fmt, "gzip"))
		rc = gzip_decode(name, in, len, in_base, &o, err);
	else if (!strcmp(fmt, "lz4"))
		rc = lz4_decode(name, in, len, in_base, &o, err);
#ifdef RRVM_HAVE_LZMA
	else if (!strcmp(fmt, "xz"))
		rc = xz_decode(name, in, len, in_base, &o, err);
#endif
	else
		rc = err__set(err, -ENOTSUP, "%s: no decoder for %s", name, fmt);
	if (!rc && expect && o.len != expect)
		rc = err__set(err, -EINVAL, "%s: %s payload decompressed to %zu bytes, its size trailer says %zu",
			      name, fmt, o.len, expect);
	if (rc) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*out_len = o.len;
	return 0;
}
