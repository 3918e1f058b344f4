/* server.c — listens for gdb, reads the socket in a helper thread (so Ctrl-C reaches a running guest), feeds proto. */
#include "gdb/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gdb/proto.h"

int gdb_server__listen(struct gdb_listen *l, const char *spec, bool listen_any, struct rrvm_err *err)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->conn = -1;
	if (spec && !strncmp(spec, "unix:", 5)) {
		const char *path = spec + 5;
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (!*path || strlen(path) >= sizeof(sa.sun_path))
			return err__set(err, -EINVAL, "--gdb=unix:PATH: the path must be 1..%zu bytes",
					sizeof(sa.sun_path) - 1);
		strcpy(sa.sun_path, path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err__set(err, -errno, "socket: %s", strerror(errno));
		unlink(path);
		mode_t old = umask(0177);   /* the socket is created 0600: only this user may debug */
		int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (rc < 0 || listen(fd, 1) < 0) {
			rc = -errno;
			close(fd);
			return err__set(err, rc, "cannot listen on Unix socket %s: %s", path, strerror(-rc));
		}
		chmod(path, 0600);
		l->fd = fd;
		snprintf(l->unix_path, sizeof(l->unix_path), "%s", path);
		snprintf(l->where, sizeof(l->where), "%s", path);
		return 0;
	}
	unsigned long port = 1234;
	if (spec && *spec) {
		char *end;
		errno = 0;
		port = strtoul(spec, &end, 10);
		if (errno || *end || port > 65535)
			return err__set(err, -EINVAL, "--gdb takes PORT (0-65535) or unix:PATH, not '%s'", spec);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err__set(err, -errno, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(listen_any ? INADDR_ANY : INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int rc = -errno;
		close(fd);
		return err__set(err, rc, "cannot listen on %s port %lu: %s", listen_any ? "any address" : "127.0.0.1",
				port, strerror(-rc));
	}
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	l->fd = fd;
	snprintf(l->where, sizeof(l->where), "%s:%u", listen_any ? "0.0.0.0" : "127.0.0.1", ntohs(sa.sin_port));
	return 0;
}

void gdb_server__close(struct gdb_listen *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->conn >= 0)
		close(l->conn);
	l->fd = l->conn = -1;
	if (l->unix_path[0])
		unlink(l->unix_path);
	l->unix_path[0] = 0;
}

/* The connection: the reader thread owns reads, the serving thread writes. */
struct link {
	int sock;
	int pipe_rd, pipe_wr;         /* reader -> server bytes */
	struct gdb_target *inner;
	struct gdb_target wrap;
	struct gdb_target_ops wrap_ops;
	volatile int running;         /* a resume is in progress: 0x03 interrupts it */
	volatile int gone;            /* gdb disconnected */
};

static void *reader(void *arg)
{
	struct link *k = arg;
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = recv(k->sock, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (k->running && memchr(buf, 0x03, (size_t)n))
			k->inner->ops->interrupt(k->inner->priv);
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(k->pipe_wr, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			o += w;
		}
	}
out:
	k->gone = 1;
	if (k->running)   /* nobody will read the stop: stop running anyway */
		k->inner->ops->interrupt(k->inner->priv);
	close(k->pipe_wr);
	return NULL;
}

static int wrap_resume(void *t, enum gdb_resume how, struct gdb_stop *stop)
{
	struct link *k = t;
	k->running = 1;
	int rc = k->gone ? 0 : k->inner->ops->resume(k->inner->priv, how, stop);
	k->running = 0;
	return rc;
}

#define FWD(name, ret, params, args) \
	static ret wrap_##name params { struct link *k = t; return k->inner->ops->name args; }
FWD(vm, struct vm *, (void *t), (k->inner->priv))
FWD(write_refused, const char *, (void *t), (k->inner->priv))
FWD(insert, int, (void *t, enum gdb_bp_type ty, uint64_t a, uint64_t l, const char **w), (k->inner->priv, ty, a, l, w))
FWD(remove, int, (void *t, enum gdb_bp_type ty, uint64_t a, uint64_t l), (k->inner->priv, ty, a, l))
FWD(monitor, int, (void *t, const char *c, struct gdb_text *o), (k->inner->priv, c, o))
static void wrap_interrupt(void *t) { struct link *k = t; k->inner->ops->interrupt(k->inner->priv); }
static void wrap_last_stop(void *t, struct gdb_stop *s) { struct link *k = t; k->inner->ops->last_stop(k->inner->priv, s); }

static int sock_send(void *ctx, const void *buf, size_t len)
{
	struct link *k = ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(k->sock, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n, len -= (size_t)n;
	}
	return 0;
}

int gdb_server__accept(struct gdb_listen *l, struct rrvm_err *err)
{
	int sock;
	do
		sock = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	while (sock < 0 && errno == EINTR);
	if (sock < 0)
		return err__set(err, -errno, "accept: %s", strerror(errno));
	l->conn = sock;
	if (l->unix_path[0])
		unlink(l->unix_path);
	l->unix_path[0] = 0;
	return 0;
}

int gdb_server__serve(struct gdb_listen *l, struct gdb_target *t, struct rrvm_err *err)
{
	if (l->conn < 0) {
		int rc = gdb_server__accept(l, err);
		if (rc)
			return rc;
	}
	int sock = l->conn;
	l->conn = -1;   /* this function closes it */
	int one = 1;
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	static struct link k;   /* one connection at a time; too big for the stack with conn */
	memset(&k, 0, sizeof(k));
	k.sock = sock;
	k.inner = t;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(sock);
		return err__set(err, -errno, "pipe: %s", strerror(errno));
	}
	k.pipe_rd = p[0], k.pipe_wr = p[1];
	k.wrap_ops = *t->ops;
	k.wrap_ops.vm = wrap_vm;
	k.wrap_ops.write_refused = wrap_write_refused;
	k.wrap_ops.insert = wrap_insert;
	k.wrap_ops.remove = wrap_remove;
	k.wrap_ops.resume = wrap_resume;
	k.wrap_ops.interrupt = wrap_interrupt;
	k.wrap_ops.monitor = wrap_monitor;
	k.wrap_ops.last_stop = wrap_last_stop;
	k.wrap.ops = &k.wrap_ops;
	k.wrap.priv = &k;
	pthread_t th;
	if (pthread_create(&th, NULL, reader, &k)) {
		close(sock), close(p[0]), close(p[1]);
		return err__set(err, -EAGAIN, "cannot start the gdb reader thread");
	}
	static struct gdb_conn c;
	gdb_conn__init(&c, &k.wrap, sock_send, &k);
	int rc = 0;
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = read(k.pipe_rd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* disconnected (mid-packet or not): the framer's partial packet is dropped */
		rc = gdb_conn__input(&c, buf, (size_t)n);
		if (rc)
			break;
	}
	rc = rc == 1 ? (c.killed ? 1 : 0) : 0;
	shutdown(sock, SHUT_RDWR);
	pthread_join(th, NULL);
	close(sock);
	close(k.pipe_rd);
	return rc;
}
