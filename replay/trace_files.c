/* trace_files.c — refuses trace files that are symlinks or the wrong kind of file (see trace_files.h). */
#include "replay/trace_files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int trace_files__check(const char *dir, const char *name, bool want_dir, struct rrvm_err *err)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err__set(err, -errno, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err__set(err, -ELOOP, "%s is a symlink: a trace's files must lie inside its directory "
				"(rrvm never records one; was this trace made elsewhere?)", path);
	if (want_dir && !S_ISDIR(st.st_mode))
		return err__set(err, -ENOTDIR, "%s: not a directory", path);
	if (!want_dir && !S_ISREG(st.st_mode))
		return err__set(err, -EINVAL, "%s: not a regular file", path);
	return 0;
}
