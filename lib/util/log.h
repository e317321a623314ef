/*
 * log.h - the daemon's and the tools' logs (interface.md §5).
 *
 * In logs_dir: fdms.log and fdms_json.log get INFO and up (DEBUG too with
 * verbose), fdms_error.log and fdms_error_json.log get ERROR and up.  Each
 * file rotates by size before the write that would overflow it (name.1 is
 * the newest old file, name.<keep> the oldest kept).  A text line reads
 *
 *	2026-03-02T10:15:01 INFO [device] file: event: message (operationID=X)
 *
 * where the bracket, file and event parts appear only when given; a JSON
 * line is one object with time, level, device, file, event (null when not
 * given), message, and operationID when there is one.  Every field is made
 * safe first: control characters, backslash, C1 controls, U+2028/2029 and
 * invalid UTF-8 become \xNN, so no value can start a new line or fake a
 * field; the JSON fields carry the same safe text as the text log.
 *
 * Vocabulary as in OpenBSD daemons: log_warn appends strerror(errno),
 * log_warnx does not; fatal and fatalx log CRITICAL and exit(1).  The
 * functions keep errno.  Not async-signal-safe: signal handlers set flags.
 */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stddef.h>

enum log_level {
	LOGLV_DEBUG,
	LOGLV_INFO,
	LOGLV_WARNING,
	LOGLV_ERROR,
	LOGLV_CRITICAL
};

/* What a line is about; any field may be NULL, ctx itself too. */
struct log_ctx {
	const char	*device;	/* device section name */
	const char	*file;		/* spool file name (untrusted) */
	const char	*operation_id;	/* FDMS operationID */
};

#define LOG_INFO_MAX	(10 * 1024 * 1024)
#define LOG_INFO_KEEP	30
#define LOG_ERROR_MAX	(5 * 1024 * 1024)
#define LOG_ERROR_KEEP	90

/*
 * logs_dir NULL: stderr only.  Otherwise the directory is created (one
 * level, 0750) if missing and the four files opened; foreground also
 * copies every line to stderr.  -1 if a file cannot be opened: logging
 * then goes on to stderr and whatever files did open.
 */
int		 log_init(const char *logs_dir, int foreground, int verbose);
/* Reopen the directory and the files by name (SIGHUP, outside rotation). */
int		 log_reopen(void);
void		 log_close(void);
/* Size limits and number of old files kept; 0 max: never rotate. */
void		 log_set_rotation(size_t info_max, int info_keep,
		    size_t err_max, int err_keep);
/* Writes, rotations and closes that failed since log_init. */
unsigned long	 log_failures(void);
const char	*log_level_name(enum log_level);

void		 log_msg(enum log_level, const struct log_ctx *,
		    const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
void		 log_debug(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 log_info(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 log_warn(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 log_warnx(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 log_error(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void	 fatal(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void	 fatalx(const struct log_ctx *, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
