/*
 * log.c - text and JSON log files with size rotation (see log.h).
 *
 * Design.  One line is formatted once into a static buffer per format
 * (the process is single-threaded, and a recursion guard drops a line
 * logged from inside the logger), then handed to each file whose level
 * threshold it meets with a single write(2) on an O_APPEND descriptor, so
 * lines from spoold and spoolctl appending to the same file do not
 * interleave.  The directory is held open and the files are opened,
 * renamed and removed relative to it, so a chdir() or a renamed parent
 * does not send lines elsewhere.
 *
 * Invariants.
 *  1. Nothing written to a log carries a byte below 0x20, DEL, a
 *     backslash, a C1 control, U+2028/2029 or invalid UTF-8 that came from
 *     a caller: those are shown as \xNN (safe_text), so a hostile file
 *     name cannot end a line or forge a field in either format.
 *  2. A failed write, rotation or open never calls back into the logger
 *     and never stops the caller: it is counted, and the first failure
 *     since log_init/log_reopen is reported once on stderr.  A line a
 *     file could not take is lost for that file only (and counted).
 *  3. A file is rotated only while the name still refers to the file we
 *     hold; if another process rotated it first we reopen instead, so two
 *     writers do not rotate twice.
 *
 * Trust.  Log files are opened O_NOFOLLOW and must be regular files (a
 * planted symlink or FIFO is refused, O_NONBLOCK keeps a FIFO from
 * blocking the open).  Callers' strings are untrusted (invariant 1); the
 * format strings are ours.
 */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/timeutil.h"
#include "util/utf8.h"

/* Raw bytes taken from each field before escaping; longer ones end "...". */
#define MSG_MAX		4096
#define DEVICE_MAX	128
#define FILE_MAX	1024
#define EVENT_MAX	128
#define OPID_MAX	128
#define RAW_TOTAL	(MSG_MAX + DEVICE_MAX + FILE_MAX + EVENT_MAX + OPID_MAX)
/* Worst case: every byte becomes "\\xNN" in JSON (5 bytes), plus framing. */
#define LINE_MAX_TEXT	(4 * RAW_TOTAL + 256)
#define LINE_MAX_JSON	(5 * RAW_TOTAL + 256)

#define FILE_MODE	0640
#define DIR_MODE	0750

struct logfile {
	const char	*name;
	int		 json;
	enum log_level	 min;		/* INFO files drop to DEBUG with -v */
	size_t		 max;		/* rotate before exceeding; 0: never */
	int		 keep;		/* name.1 .. name.<keep> */
	int		 fd;
};

static struct logfile files[] = {
	{ "fdms.log", 0, LOGLV_INFO, LOG_INFO_MAX, LOG_INFO_KEEP, -1 },
	{ "fdms_json.log", 1, LOGLV_INFO, LOG_INFO_MAX, LOG_INFO_KEEP, -1 },
	{ "fdms_error.log", 0, LOGLV_ERROR, LOG_ERROR_MAX, LOG_ERROR_KEEP, -1 },
	{ "fdms_error_json.log", 1, LOGLV_ERROR, LOG_ERROR_MAX, LOG_ERROR_KEEP,
	    -1 },
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

static char		*log_dir;	/* NULL: stderr only */
static int		 dir_fd = -1;
static int		 to_stderr = 1;
static int		 foreground;	/* stderr too, even with files */
static enum log_level	 stderr_min = LOGLV_INFO;
static int		 busy;		/* recursion guard, invariant 2 */
static unsigned long	 nfailures;
static int		 failure_reported;

static char		 textline[LINE_MAX_TEXT];
static char		 jsonline[LINE_MAX_JSON];

static const char *const level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"
};

const char *
log_level_name(enum log_level l)
{
	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "UNKNOWN";
	return level_names[l];
}

unsigned long
log_failures(void)
{
	return nfailures;
}

/*
 * Invariant 2: count, say so once, never log.  The message is built on the
 * stack and written raw; if even stderr fails there is nowhere left to go.
 */
static void
failure(const char *what, const char *name, int err)
{
	char msg[512];
	int n;

	nfailures++;
	if (failure_reported)
		return;
	failure_reported = 1;
	n = snprintf(msg, sizeof(msg), "log: %s %s%s%s: %s (further log "
	    "failures are counted, not shown)\n", what, log_dir ? log_dir : "",
	    *name != '\0' ? "/" : "", name, strerror(err));
	if (n > 0) {
		if (n >= (int)sizeof(msg))
			n = sizeof(msg) - 1;
		if (write(STDERR_FILENO, msg, (size_t)n) == -1) {
			/* nothing left to report to */
		}
	}
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
open_file(struct logfile *lf)
{
	struct stat st;
	int fd, saved;

	fd = openat(dir_fd, lf->name, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, FILE_MODE);
	if (fd == -1) {
		failure("cannot open", lf->name, errno);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		saved = errno;
	else if (!S_ISREG(st.st_mode))
		saved = EINVAL;		/* a FIFO, socket or device */
	else {
		lf->fd = fd;
		return 0;
	}
	(void)close(fd);	/* never written to: nothing to lose */
	failure("cannot use", lf->name, saved);
	return -1;
}

static void
close_file(struct logfile *lf)
{
	if (lf->fd == -1)
		return;
	if (close(lf->fd) == -1)
		failure("cannot close", lf->name, errno);
	lf->fd = -1;
}

static int
open_all(void)
{
	size_t i;
	int rc = 0;

	dir_fd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd == -1 && errno == ENOENT) {
		if (mkdir(log_dir, DIR_MODE) == -1 && errno != EEXIST) {
			failure("cannot create directory", "", errno);
			return -1;
		}
		dir_fd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dir_fd == -1) {
		failure("cannot open directory", "", errno);
		return -1;
	}
	for (i = 0; i < NFILES; i++)
		if (open_file(&files[i]) == -1)
			rc = -1;
	return rc;
}

static void
close_all(void)
{
	size_t i;

	for (i = 0; i < NFILES; i++)
		close_file(&files[i]);
	if (dir_fd != -1) {
		if (close(dir_fd) == -1)
			failure("cannot close directory", "", errno);
		dir_fd = -1;
	}
}

int
log_init(const char *logs_dir, int fg, int verbose)
{
	enum log_level min = verbose > 0 ? LOGLV_DEBUG : LOGLV_INFO;
	size_t i;

	log_close();
	nfailures = 0;
	failure_reported = 0;
	stderr_min = min;
	for (i = 0; i < NFILES; i++)
		if (files[i].min <= LOGLV_INFO)
			files[i].min = min;
	if (logs_dir == NULL) {
		to_stderr = 1;
		return 0;
	}
	to_stderr = foreground = fg;
	if ((log_dir = strdup(logs_dir)) == NULL) {
		to_stderr = 1;
		failure("out of memory for", "", ENOMEM);
		return -1;
	}
	if (open_all() == -1) {
		/* Whatever cannot go to a file must still be seen. */
		to_stderr = 1;
		return -1;
	}
	return 0;
}

int
log_reopen(void)
{
	if (log_dir == NULL)
		return 0;
	close_all();
	failure_reported = 0;
	if (open_all() == -1) {
		to_stderr = 1;
		return -1;
	}
	to_stderr = foreground;	/* the files work (again) */
	return 0;
}

void
log_close(void)
{
	close_all();
	free(log_dir);
	log_dir = NULL;
	to_stderr = 1;
}

void
log_set_rotation(size_t info_max, int info_keep, size_t err_max,
    int err_keep)
{
	size_t i;

	for (i = 0; i < NFILES; i++) {
		if (files[i].min >= LOGLV_ERROR) {
			files[i].max = err_max;
			files[i].keep = err_keep < 0 ? 0 : err_keep;
		} else {
			files[i].max = info_max;
			files[i].keep = info_keep < 0 ? 0 : info_keep;
		}
	}
}

/* rename name.<from> (or name when from is 0) to name.<to>; ENOENT is fine. */
static int
shift(const struct logfile *lf, int from, int to)
{
	char a[256], b[256];

	if (from == 0)
		snprintf(a, sizeof(a), "%s", lf->name);
	else
		snprintf(a, sizeof(a), "%s.%d", lf->name, from);
	snprintf(b, sizeof(b), "%s.%d", lf->name, to);
	if (renameat(dir_fd, a, dir_fd, b) == -1 && errno != ENOENT) {
		failure("cannot rotate", a, errno);
		return -1;
	}
	return 0;
}

/*
 * Before writing len bytes: rotate if they would take the file past max.
 * A file that is empty takes the line whatever its size, so one huge line
 * cannot make us rotate forever.
 */
static void
rotate_if_needed(struct logfile *lf, size_t len)
{
	struct stat cur, byname;
	int i;

	if (lf->max == 0 || fstat(lf->fd, &cur) == -1)
		return;
	if (cur.st_size == 0 || (uintmax_t)cur.st_size + len <= lf->max)
		return;
	if (fstatat(dir_fd, lf->name, &byname, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (byname.st_ino != cur.st_ino || byname.st_dev != cur.st_dev)) {
		/* Invariant 3: someone rotated it under us; follow them. */
		close_file(lf);
		(void)open_file(lf);
		return;
	}
	/* Oldest first: name.<keep> is replaced by name.<keep-1>, and so on. */
	for (i = lf->keep - 1; i >= 1; i--)
		if (shift(lf, i, i + 1) == -1)
			return;		/* keep writing to the big file */
	if (lf->keep > 0) {
		if (shift(lf, 0, 1) == -1)
			return;
	} else if (unlinkat(dir_fd, lf->name, 0) == -1 && errno != ENOENT) {
		failure("cannot remove", lf->name, errno);
		return;
	}
	close_file(lf);
	(void)open_file(lf);
}

/*
 * Append-only output into a fixed buffer.  `full` sticks once something
 * did not fit, so the line is cut rather than overrun; with the sizes
 * above it never happens, the check is a second line of defence.
 */
struct out {
	char	*p;
	size_t	 len, cap;
	int	 full;
};

static void
out_bytes(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - 1 - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/*
 * Invariant 1: append at most max bytes of s, made safe.  For JSON the
 * safe text is then JSON-escaped (only '"' and '\\' can remain to escape).
 */
static void
safe_text(struct out *o, const char *s, size_t max, int json)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n, len, i;
	uint32_t cp;
	char esc[6];
	int cut;

	n = strnlen(s, max + 1);
	cut = n > max;
	if (cut)
		n = max;
	while (n > 0 && !o->full) {
		len = 1;
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (json && *p == '"')
				out_str(o, "\\\"");
			else
				out_bytes(o, (const char *)p, 1);
			p++;
			n--;
			continue;
		}
		if (*p >= 0x80 && (len = utf8_decode(p, n, &cp)) > 0 &&
		    !(cp <= 0x9f || cp == 0x2028 || cp == 0x2029)) {
			out_bytes(o, (const char *)p, len);
			p += len;
			n -= len;
			continue;
		}
		/* Invalid byte, control, or a character that breaks lines. */
		if (len == 0)
			len = 1;
		for (i = 0; i < len; i++) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 0xf];
			esc[4] = '\0';
			if (json)
				out_str(o, "\\");
			out_str(o, esc);
		}
		p += len;
		n -= len;
	}
	if (cut)
		out_str(o, "...");
}

static void
json_field(struct out *o, const char *key, const char *val, size_t max,
    int comma)
{
	if (comma)
		out_str(o, ",");
	out_str(o, "\"");
	out_str(o, key);
	out_str(o, "\":");
	if (val == NULL) {
		out_str(o, "null");
		return;
	}
	out_str(o, "\"");
	safe_text(o, val, max, 1);
	out_str(o, "\"");
}

static void
format_lines(enum log_level level, const struct log_ctx *ctx,
    const char *event, const char *msg, struct out *t, struct out *j)
{
	static const struct log_ctx none;
	char tbuf[20];
	const char *now;

	if (ctx == NULL)
		ctx = &none;
	if ((now = timeutil_format_local(time(NULL), tbuf)) == NULL)
		now = "0000-00-00T00:00:00";

	out_str(t, now);
	out_str(t, " ");
	out_str(t, log_level_name(level));
	out_str(t, " ");
	if (ctx->device != NULL) {
		out_str(t, "[");
		safe_text(t, ctx->device, DEVICE_MAX, 0);
		out_str(t, "] ");
	}
	if (ctx->file != NULL) {
		safe_text(t, ctx->file, FILE_MAX, 0);
		out_str(t, ": ");
	}
	if (event != NULL) {
		safe_text(t, event, EVENT_MAX, 0);
		out_str(t, ": ");
	}
	safe_text(t, msg, MSG_MAX, 0);
	if (ctx->operation_id != NULL) {
		out_str(t, " (operationID=");
		safe_text(t, ctx->operation_id, OPID_MAX, 0);
		out_str(t, ")");
	}

	out_str(j, "{");
	json_field(j, "time", now, 32, 0);
	json_field(j, "level", log_level_name(level), 16, 1);
	json_field(j, "device", ctx->device, DEVICE_MAX, 1);
	json_field(j, "file", ctx->file, FILE_MAX, 1);
	json_field(j, "event", event, EVENT_MAX, 1);
	json_field(j, "message", msg, MSG_MAX, 1);
	if (ctx->operation_id != NULL)
		json_field(j, "operationID", ctx->operation_id, OPID_MAX, 1);
	out_str(j, "}");

	/* Room for the newline was kept by out_bytes (cap - 1). */
	t->p[t->len++] = '\n';
	j->p[j->len++] = '\n';
}

static void vlog(enum log_level, const struct log_ctx *, const char *, int,
    const char *, va_list) __attribute__((format(printf, 5, 0)));

static void
vlog(enum log_level level, const struct log_ctx *ctx, const char *event,
    int errnum, const char *fmt, va_list ap)
{
	char msg[MSG_MAX + 2];
	struct out t = { textline, 0, sizeof(textline), 0 };
	struct out j = { jsonline, 0, sizeof(jsonline), 0 };
	size_t i, len;
	int n, saved = errno;

	if (busy)
		return;
	if (level < stderr_min && (log_dir == NULL || level < files[0].min))
		return;
	busy = 1;

	/* Room for MSG_MAX + 1 bytes, so safe_text sees the message was cut. */
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unformattable message)");
	if (errnum != -1) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(errnum));
	}
	format_lines(level, ctx, event, msg, &t, &j);

	for (i = 0; i < NFILES; i++) {
		struct logfile *lf = &files[i];

		if (log_dir == NULL || level < lf->min)
			continue;
		/*
		 * A file that did not open (or reopen after rotation) is
		 * tried again for each line, so a passing EMFILE or a fixed
		 * permission does not lose the log until the next SIGHUP;
		 * the lines it misses meanwhile are counted.
		 */
		if (lf->fd == -1 && dir_fd == -1) {
			nfailures++;	/* no directory: reported by open_all */
			continue;
		}
		if (lf->fd == -1 && open_file(lf) == -1)
			continue;	/* counted by open_file */
		len = lf->json ? j.len : t.len;
		rotate_if_needed(lf, len);
		if (lf->fd == -1)
			continue;	/* reopen after rotation failed: counted */
		if (write_all(lf->fd, lf->json ? j.p : t.p, len) == -1)
			failure("cannot write", lf->name, errno);
	}
	if (to_stderr && level >= stderr_min &&
	    write_all(STDERR_FILENO, t.p, t.len) == -1)
		nfailures++;	/* stderr gone: nowhere to report it */

	busy = 0;
	errno = saved;
}

void
log_msg(enum log_level level, const struct log_ctx *ctx, const char *event,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, ctx, event, -1, fmt, ap);
	va_end(ap);
}

void
log_debug(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLV_DEBUG, ctx, event, -1, fmt, ap);
	va_end(ap);
}

void
log_info(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLV_INFO, ctx, event, -1, fmt, ap);
	va_end(ap);
}

void
log_warn(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(LOGLV_WARNING, ctx, event, e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLV_WARNING, ctx, event, -1, fmt, ap);
	va_end(ap);
}

void
log_error(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLV_ERROR, ctx, event, -1, fmt, ap);
	va_end(ap);
}

void
fatal(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(LOGLV_CRITICAL, ctx, event, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const struct log_ctx *ctx, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLV_CRITICAL, ctx, event, -1, fmt, ap);
	va_end(ap);
	exit(1);
}
