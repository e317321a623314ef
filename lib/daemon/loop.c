/*
 * loop.c - the spool daemon: start-up, recovery and one poll() loop (see
 * loop.h; interface.md §1, anchors A.6 items 5-8, B.4, B.9).
 *
 * Purpose.  Serve every configured device from one thread: each device's
 * inbox (intake: inotify hints plus periodic scans), one file at a time
 * through the pipeline (validate, sign, journal, file), and the outbox
 * (FDMS, one request in flight per device) over one curl multi handle.
 * The loop waits in poll() on a signalfd, the inotify descriptors and
 * curl's sockets, with a timeout from the nearest timer (a file settling,
 * the next rescan, a backoff, a Ping, a deferred file's retry, the
 * systemd watchdog).  Signal handlers do not exist: signals are blocked
 * and read from the signalfd like any other event.
 *
 * Start-up, in this order (each step needs the one before):
 *   1. configuration loaded and checked (exit 2 on problems);
 *   2. detach unless -f, --once or systemd (see "Detaching");
 *      then, when `user` is set, root is given up (daemon/privdrop.h)
 *      before anything below is opened or any inbox file read;
 *   3. logs; the locks <spool_dir>/.spoold.lock and <database>.lock
 *      (flock, held for the process's life: a second spoold on the same
 *      spool or journal refuses to start, anchors B.9 "single instance");
 *   4. the journal, the FDMS client, the schemas, each device's runtime
 *      (key, certificate, GetConfig), inbox, folders and pipeline;
 *   5. recovery: the files a crash left in work/, first (they may already
 *      be journaled; the pipeline re-files those from the journal); the
 *      inboxes are scanned next, by the loop itself; receipts left in
 *      doubt are resent by the outbox as its first act (the temporary
 *      result and error files a crash left in done/ and error/ went in
 *      step 4, when those folders were opened);
 *   6. READY=1 (systemd), or the detached parent told to exit 0.
 *
 * Stopping.  SIGTERM/SIGINT: the file in hand is always finished (files
 * are processed synchronously, between two polls), no new file is
 * claimed and no new FDMS call started; calls in flight get DRAIN_MS to
 * end (their answer is journaled; one cut off stays "in doubt" and is
 * resent identically after the restart, anchors B.4); exit 0.  A second
 * signal stops at once.
 *
 * Errors.  A problem with one file is the pipeline's (error/).  A problem
 * with the environment (a journal write, an fsync, the inbox vanishing:
 * PIPELINE_FATAL, INTAKE_FATAL, an outbox -1) is logged CRITICAL and the
 * process exits 1 at once: never retry an fsync (anchors B.4); systemd
 * restarts us into a clean recovery (Restart=on-failure).
 *
 * SIGHUP.  The configuration is loaded and checked as a whole, then
 * compared with the running one: what the running daemon is built on
 * (environment, spool and database paths, FDMS URL and CA, key, zone, the
 * devices and their folders) cannot change under it, so such a change is
 * refused as a whole (logged: restart to apply) and the old configuration
 * kept, like an invalid one.  Otherwise the new one replaces the old in
 * one pointer swap (rescan interval; settle time, size limit and
 * inotify, for which the inboxes are reopened; logs directory), the log
 * files are reopened and each device's pipeline view reloaded from the
 * journal.
 *
 * Detaching.  Under systemd (NOTIFY_SOCKET set, Type=notify) spoold stays
 * in the foreground and says READY=1: the service manager supervises it,
 * and a fork would only hide the main PID.  Started by hand or by an old
 * init without -f, it detaches classically (fork, setsid, fork; stdin and
 * stdout on /dev/null), keeps stderr until it is ready so that start-up
 * errors reach the terminal, and the first parent waits on a pipe for
 * "ready" to exit 0 (or with the start-up's failure status; 1 if the
 * daemon died without one), so `spoold && ...` is meaningful.  It does
 * not chdir("/"): the configuration's relative paths (./spool and
 * ./db.sqlite3 are the defaults) are relative to the working directory,
 * and SIGHUP re-reads them.  --once never detaches.
 *
 * SECURITY.  Everything from the inbox is handled by intake (claim into
 * work/, no symlinks, no FIFOs) and the pipeline; this file only passes
 * names on.  The Fernet key is parsed here and wiped at exit; keys are
 * loaded into memory by the device modules and never logged.
 *
 * Invariants.
 *  1. One thread; nothing blocks but poll(): file work is bounded (one
 *     file per turn, then the network gets its turn) and FDMS calls are
 *     non-blocking.
 *  2. A device whose file was DEFERRED, or is still open for writing,
 *     claims nothing more until that file has gone through (files of a
 *     device are taken in order).
 *  3. The locks are taken before the journal is opened and held until
 *     exit.
 */
#define _GNU_SOURCE		/* signalfd */

#include "daemon/loop.h"

#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon/config.h"
#include "daemon/privdrop.h"
#include "daemon/sdnotify.h"
#include "fdms/fdms.h"
#include "io/document.h"
#include "spool/device.h"
#include "spool/intake.h"
#include "spool/outbox.h"
#include "spool/pipeline.h"
#include "store/fernet.h"
#include "store/store.h"
#include "util/nocore.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#define DRAIN_MS		10000	/* calls in flight after SIGTERM */
#define MAX_WAIT_MS		1000	/* poll at least this often */
#define RETRY_DEFERRED_MIN_MS	1000
#define RETRY_WRITING_MIN_MS	100
#define WRITER_IDLE_MAX_S	60	/* open for writing, unchanged: taken */
#define LOCK_NAME		".spoold.lock"

struct ldev {
	const struct config_device *conf;
	struct device		 rt;
	bool			 rt_loaded;
	struct pipeline_device	 pd;
	bool			 pd_loaded;
	bool			 pd_stale;	/* outbox changed cert/config */
	struct intake		*in;
	int			 done_fd, error_fd;
	bool			 paused;	/* a file was deferred */
	int64_t			 retry_ms;	/* paused: retry work/ then */
	bool			 idle;		/* nothing ready, nothing settling */
	int64_t			 due_ms;	/* a settling file, -1: none */
};

struct loop {
	const struct loop_opts	*opts;
	struct config		*cfg;
	struct store		*store;
	struct fdms_client	*client;
	struct outbox		*ob;
	struct doc_schemas	 schemas;
	bool			 schemas_loaded;
	struct ldev		*devs;
	size_t			 ndevs, rr;
	bool			 has_fkey;
	unsigned char		 fkey[32];
	int			 sigfd;
	int			 lock_spool, lock_db;
	int			 ready_fd;	/* detached: tell the parent */
	bool			 log_stderr;	/* log lines reach stderr */
	int64_t			 rescan_ms;
	int64_t			 watchdog_every, watchdog_ms;
	bool			 stopping, reload;
	int64_t			 drain_deadline;
	struct pollfd		*pfd;
	size_t			 pfd_cap;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
local_now(char buf[TIMEUTIL_LOCAL_LEN + 1])
{
	if (timeutil_format_local(time(NULL), buf) == NULL)
		buf[0] = '\0';
	return buf;
}

/* A start-up failure: logged, and on the terminal when logs are not. */
static int
startup_fail(struct loop *l, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
startup_fail(struct loop *l, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOGLV_CRITICAL, NULL, "start", "%s", msg);
	if (!l->log_stderr)
		fprintf(stderr, "spoold: %s\n", msg);
	return rc;
}

/* ---- detaching ------------------------------------------------------- */

/*
 * Classic detach (see the design note).  Returns in the daemon with
 * *ready_fd the pipe to the waiting parent; the parents exit here.
 */
static int
detach(int *ready_fd)
{
	int p[2], devnull, status;
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		/* The first parent: exit as the daemon's start-up went. */
		(void)close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		(void)waitpid(pid, &status, 0);
		/* 'R': ready; another byte: the start-up's exit status. */
		if (n != 1)
			_exit(LOOP_EXIT_FAIL);
		_exit(c == 'R' ? LOOP_EXIT_OK : (unsigned char)c);
	}
	(void)close(p[0]);
	if (setsid() == -1)
		_exit(LOOP_EXIT_FAIL);
	/* A second fork: never a session leader, never a controlling tty. */
	if ((pid = fork()) == -1)
		_exit(LOOP_EXIT_FAIL);
	if (pid > 0)
		_exit(LOOP_EXIT_OK);
	/*
	 * The one open() outside util/: /dev/null, a fixed path, so that a
	 * stray write to fd 0-2 can never land in the journal or a spool file.
	 */
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(LOOP_EXIT_FAIL);
	(void)dup2(devnull, STDIN_FILENO);
	(void)dup2(devnull, STDOUT_FILENO);
	if (devnull > STDERR_FILENO)
		(void)close(devnull);
	*ready_fd = p[1];
	return 0;
}

/* Ready: the detached parent exits 0; stderr goes to /dev/null. */
static void
tell_ready(struct loop *l)
{
	if (l->ready_fd != -1) {
		(void)dup2(STDIN_FILENO, STDERR_FILENO);	/* /dev/null */
		if (write(l->ready_fd, "R", 1) != 1)
			log_warn(NULL, "start", "telling the parent");
		(void)close(l->ready_fd);
		l->ready_fd = -1;
	}
	(void)sdnotify("READY=1");
}

/* ---- locks ----------------------------------------------------------- */

/* The journal's lock file, or 0 when it has none (not a file). */
static int
db_lock_path(const char *url, char *out, size_t len)
{
	const char *p = url;

	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return 0;
	if (strncmp(url, "sqlite://", 9) == 0)
		p = url + 9;
	return (size_t)snprintf(out, len, "%s.lock", p) < len ? 1 : -1;
}

static int
take_lock(struct loop *l, const char *path, int *fd, const char *what)
{
	char err[512];
	int rc;

	rc = fsutil_lock(path, fd, err, sizeof(err));
	if (rc == FSUTIL_OK)
		return 0;
	if (rc == FSUTIL_LOCKED)
		return startup_fail(l, LOOP_EXIT_FAIL, "another spoold is "
		    "using this %s: %s; refusing to start", what, err);
	return startup_fail(l, LOOP_EXIT_FAIL, "lock %s: %s", path, err);
}

/* mkdir path's parent (one level) when missing: spool/NAME for inboxes. */
static int
ensure_parent(const char *path)
{
	char parent[PATH_MAX];
	char *slash;
	int fd;

	if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >=
	    sizeof(parent))
		return -1;
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0')
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL || slash == parent)
		return 0;
	*slash = '\0';
	if ((fd = fsutil_open_dir(parent, 1)) == -1)
		return -1;
	(void)close(fd);
	return 0;
}

static int
take_locks(struct loop *l)
{
	char path[PATH_MAX];
	int fd, rc;

	if ((fd = fsutil_open_dir(l->cfg->spool_dir, 1)) == -1)
		return startup_fail(l, LOOP_EXIT_FAIL, "spool_dir %s: %s",
		    l->cfg->spool_dir, strerror(errno));
	(void)close(fd);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", l->cfg->spool_dir,
	    LOCK_NAME) >= sizeof(path))
		return startup_fail(l, LOOP_EXIT_CONFIG, "spool_dir too long");
	if ((rc = take_lock(l, path, &l->lock_spool, "spool")) != 0)
		return rc;
	switch (db_lock_path(l->cfg->database, path, sizeof(path))) {
	case 1:
		return take_lock(l, path, &l->lock_db, "database");
	case 0:
		return 0;
	default:
		return startup_fail(l, LOOP_EXIT_CONFIG, "database path too "
		    "long");
	}
}

/* ---- devices --------------------------------------------------------- */

static int
open_intake(struct loop *l, struct ldev *d)
{
	struct intake_opts io;
	char err[512];

	memset(&io, 0, sizeof(io));
	io.inbox = d->conf->inbox;
	io.work = d->conf->work_dir;
	io.settle_ms = (long)l->cfg->settle_ms;
	/*
	 * --once handles what is there at the start: no events needed.
	 * inotify = no: a share whose writers are remote raises none.
	 */
	io.use_inotify = !l->opts->once && l->cfg->inotify;
	io.max_file_size = l->cfg->max_file_size;
	io.device = d->conf->name;
	if (ensure_parent(d->conf->inbox) == -1 ||
	    (d->in = intake_open(&io, err, sizeof(err))) == NULL) {
		log_msg(LOGLV_CRITICAL, NULL, "start", "device %s: inbox %s: "
		    "%s", d->conf->name, d->conf->inbox, errno != 0 ?
		    strerror(errno) : err);
		return -1;
	}
	return 0;
}

/* The pipeline's view of the device, (re)loaded from the journal. */
static int
load_pd(struct loop *l, struct ldev *d, char *err, size_t errlen)
{
	d->pd.device_id = d->conf->device_id;
	d->pd.name = d->conf->name;
	d->pd.store = l->store;
	d->pd.schemas = &l->schemas;
	d->pd.work_fd = intake_work_fd(d->in);
	d->pd.done_fd = d->done_fd;
	d->pd.error_fd = d->error_fd;
	if (pipeline_device_load(&d->pd, l->has_fkey ? l->fkey : NULL, err,
	    errlen) == -1)
		return -1;
	d->pd_loaded = true;
	d->pd_stale = false;
	return 0;
}

/*
 * Temporaries of result and error files that a killed spoold left in
 * done/ or error/: ours to remove, since we hold the spool lock.
 */
static int
remove_tmp(struct loop *l, struct ldev *d, int dirfd, const char *dir)
{
	struct log_ctx c = { d->conf->name, NULL, NULL };
	char err[512];
	int n;

	if ((n = fsutil_remove_tmp(dirfd, err, sizeof(err))) == -1)
		return startup_fail(l, LOOP_EXIT_FAIL, "device %s: %s: %s",
		    d->conf->name, dir, err);
	if (n > 0)
		log_info(&c, "start", "%s: removed %d temporary file%s of an "
		    "interrupted write", dir, n, n == 1 ? "" : "s");
	return 0;
}

static int
open_device(struct loop *l, struct ldev *d, const struct config_device *conf)
{
	char err[512];

	d->conf = conf;
	d->done_fd = d->error_fd = -1;
	d->due_ms = -1;
	if (device_load(&d->rt, l->store, conf, l->has_fkey ? l->fkey : NULL,
	    err, sizeof(err)) == -1)
		return startup_fail(l, LOOP_EXIT_CONFIG, "device %s: %s",
		    conf->name, err);
	d->rt_loaded = true;
	if (open_intake(l, d) == -1)
		return startup_fail(l, LOOP_EXIT_FAIL, "device %s: cannot "
		    "open the inbox %s", conf->name, conf->inbox);
	if ((d->done_fd = fsutil_open_dir(conf->done_dir, 1)) == -1 ||
	    (d->error_fd = fsutil_open_dir(conf->error_dir, 1)) == -1)
		return startup_fail(l, LOOP_EXIT_FAIL, "device %s: %s: %s",
		    conf->name, d->done_fd == -1 ? conf->done_dir :
		    conf->error_dir, strerror(errno));
	if (remove_tmp(l, d, d->done_fd, conf->done_dir) != 0 ||
	    remove_tmp(l, d, d->error_fd, conf->error_dir) != 0)
		return LOOP_EXIT_FAIL;
	if (load_pd(l, d, err, sizeof(err)) == -1)
		return startup_fail(l, LOOP_EXIT_CONFIG, "device %s: %s",
		    conf->name, err);
	return 0;
}

static void
close_device(struct ldev *d)
{
	if (d->pd_loaded)
		pipeline_device_unload(&d->pd);
	intake_close(d->in);
	if (d->done_fd != -1)
		(void)close(d->done_fd);
	if (d->error_fd != -1)
		(void)close(d->error_fd);
	if (d->rt_loaded)
		device_free(&d->rt);
}

static struct ldev *
ldev_of(struct loop *l, const struct device *rt)
{
	size_t i;

	for (i = 0; i < l->ndevs; i++)
		if (&l->devs[i].rt == rt)
			return &l->devs[i];
	return NULL;
}

/* Outbox: a certificate or GetConfig was journaled (outbox.h). */
static void
device_changed(void *arg, struct device *rt)
{
	struct ldev *d = ldev_of(arg, rt);

	if (d != NULL)
		d->pd_stale = true;
}

/* ---- files ----------------------------------------------------------- */

/*
 * What the pipeline did with one file.  0 go on, 1 deferred (the device
 * pauses), -1 fatal.
 */
static int
after_pipeline(struct loop *l, struct ldev *d, enum pipeline_rc rc,
    const struct pipeline_outcome *out)
{
	struct log_ctx c = { d->conf->name, NULL, NULL };
	int64_t wait;

	switch (rc) {
	case PIPELINE_DONE:
		outbox_kick(l->ob, d->conf->device_id);
		return 0;
	case PIPELINE_REJECTED:
		return 0;
	case PIPELINE_DEFERRED:
		wait = l->cfg->rescan_interval * 1000;
		if (wait < RETRY_DEFERRED_MIN_MS)
			wait = RETRY_DEFERRED_MIN_MS;
		/* The pipeline said why; this says what happens now. */
		if (!d->paused)
			log_info(&c, "paused", "the device's files wait (the "
			    "deferred one in work/, the others in the inbox); "
			    "retried every %lld s", (long long)(wait / 1000));
		d->paused = true;
		d->retry_ms = mono_ms() + wait;
		return 1;
	case PIPELINE_FATAL:
		log_msg(LOGLV_CRITICAL, &c, "fatal", "%s", out->reason);
		return -1;
	}
	return -1;
}

/*
 * A claimed file that some process still has open for writing: its writer
 * is pausing, not done (intake.h).  It stays in work/, where the rest of
 * its bytes arrive, and the device waits for it like for a deferred file
 * (files of a device are taken in order); retried every settle_ms.  A
 * writer that keeps a file open without writing to it for
 * WRITER_IDLE_MAX_S (a POS that never closes its files) does not stop the
 * device for good: the file is taken as it is.  1 waits, 0 go on.
 */
static int
still_writing(struct loop *l, struct ldev *d, const struct intake_claimed *c)
{
	struct log_ctx lc = { d->conf->name, c->name, NULL };
	int64_t idle = (int64_t)time(NULL) - c->mtime_s, wait;

	if (idle >= WRITER_IDLE_MAX_S) {
		log_warnx(&lc, "intake", "still open for writing, but not "
		    "written to for %lld s: taken as it is", (long long)idle);
		return 0;
	}
	wait = l->cfg->settle_ms;
	if (wait < RETRY_WRITING_MIN_MS)
		wait = RETRY_WRITING_MIN_MS;
	if (wait > l->cfg->rescan_interval * 1000)
		wait = l->cfg->rescan_interval * 1000;
	if (!d->paused)
		log_info(&lc, "writing", "still open for writing: it waits in "
		    "work/ until the writer closes it, and the device's other "
		    "files wait for it");
	d->paused = true;
	d->retry_ms = mono_ms() + wait;
	return 1;
}

/* One claimed (or reopened) entry through the pipeline. */
static int
handle_claim(struct loop *l, struct ldev *d, enum intake_claim cr,
    struct intake_claimed *c)
{
	struct pipeline_outcome out;
	struct log_ctx lc = { d->conf->name, c->name, NULL };
	char now[TIMEUTIL_LOCAL_LEN + 1];
	enum pipeline_rc rc;

	memset(&out, 0, sizeof(out));
	local_now(now);
	switch (cr) {
	case INTAKE_CLAIMED:
		if (c->writing && still_writing(l, d, c)) {
			(void)close(c->fd);	/* read-only, not read */
			return 1;
		}
		rc = pipeline_process(&d->pd, c->name, c->fd, now, &out);
		(void)close(c->fd);
		break;
	case INTAKE_REJECTED:
		rc = pipeline_reject(&d->pd, c->name, c->reject_code,
		    c->reason, now);
		snprintf(out.reason, sizeof(out.reason), "%s", c->reason);
		break;
	case INTAKE_GONE:
		return 0;
	case INTAKE_FATAL:
	default:
		log_msg(LOGLV_CRITICAL, &lc, "fatal", "%s", c->reason);
		return -1;
	}
	return after_pipeline(l, d, rc, &out);
}

struct recover_arg {
	struct loop	*l;
	struct ldev	*d;
	int		 rc;		/* 0, 1 deferred, -1 fatal */
};

static int
recover_one(const char *work_name, void *arg)
{
	struct recover_arg *ra = arg;
	struct intake_claimed c;
	enum intake_claim cr;

	int targets[2] = { ra->d->done_fd, ra->d->error_fd };
	char err[256];

	/*
	 * A crash inside fsutil_move's link+unlink fallback leaves the file in
	 * work/ AND done/ (or error/): two links. Its other name is the real
	 * one; rejecting this one as HARD_LINK would tell the POS a fiscalised
	 * sale failed.
	 */
	switch (fsutil_drop_moved_twin(intake_work_fd(ra->d->in), work_name,
	    targets, 2, err, sizeof(err))) {
	case 1: {
		struct log_ctx lc = { ra->d->conf->name, work_name, NULL };

		log_info(&lc, "recover", "already filed (an interrupted move): "
		    "the leftover name in work/ removed");
		ra->rc = 0;
		return 0;
	}
	case FSUTIL_FATAL:
		log_msg(LOGLV_CRITICAL, NULL, "fatal", "device %s: %s",
		    ra->d->conf->name, err);
		ra->rc = -1;
		return -1;
	default:
		break;
	}
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	cr = intake_reopen(ra->d->in, work_name, &c);
	ra->rc = handle_claim(ra->l, ra->d, cr, &c);
	return ra->rc == 0 ? 0 : -1;
}

/*
 * Files in work/: left by a crash (start-up) or deferred.  Taken in name
 * order before anything new of the device.  0, 1 still deferred, -1.
 */
static int
recover_work(struct loop *l, struct ldev *d)
{
	struct recover_arg ra = { l, d, 0 };
	int n;

	do {
		if ((n = intake_recover(d->in, recover_one, &ra)) == -1) {
			log_msg(LOGLV_CRITICAL, NULL, "fatal", "device %s: "
			    "cannot read %s", d->conf->name, d->conf->work_dir);
			return -1;
		}
	} while (ra.rc == 0 && n > 0 && n >= INTAKE_MAX_ENTRIES);
	if (ra.rc == 0 && d->paused) {
		struct log_ctx c = { d->conf->name, NULL, NULL };

		log_info(&c, "resumed", "the deferred files went through");
		d->paused = false;
	}
	return ra.rc;
}

/*
 * At most one file, round robin over the devices (one device's backlog
 * does not starve another).  1 a file was handled, 0 none ready, -1 fatal.
 */
static int
work_one(struct loop *l, int64_t now)
{
	char name[INTAKE_NAME_MAX];
	struct intake_claimed c;
	struct ldev *d;
	int64_t due;
	size_t k;
	int r;

	for (k = 0; k < l->ndevs; k++) {
		d = &l->devs[(l->rr + k) % l->ndevs];
		if (d->paused) {
			d->idle = true;
			continue;
		}
		r = intake_next(d->in, now, name, sizeof(name), &due);
		if (r == -1) {
			log_msg(LOGLV_CRITICAL, NULL, "fatal", "device %s: the "
			    "inbox %s cannot be scanned", d->conf->name,
			    d->conf->inbox);
			return -1;
		}
		if (r == 0) {
			d->due_ms = due;
			d->idle = due < 0;
			continue;
		}
		d->idle = false;
		l->rr = (l->rr + k + 1) % l->ndevs;
		memset(&c, 0, sizeof(c));
		c.fd = -1;
		return handle_claim(l, d, intake_claim(d->in, name, &c), &c) ==
		    -1 ? -1 : 1;
	}
	return 0;
}

/* ---- configuration, SIGHUP ------------------------------------------ */

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What a running daemon is built on; "" when new may replace old. */
static const char *
fixed_change(const struct config *o, const struct config *n)
{
	size_t i;

	if (o->env != n->env)
		return "env";
	if (!same(o->spool_dir, n->spool_dir))
		return "spool_dir";
	if (!same(o->database, n->database))
		return "database";
	if (!same(o->fdms_base_url, n->fdms_base_url))
		return "fdms_base_url";
	if (!same(o->fdms_ca_file, n->fdms_ca_file))
		return "fdms_ca_file";
	if (!same(o->encryption_key, n->encryption_key))
		return "encryption_key";
	if (!same(o->timezone, n->timezone))
		return "timezone";
	if (!same(o->user, n->user))
		return "user";
	if (o->ndevices != n->ndevices)
		return "the devices";
	for (i = 0; i < o->ndevices; i++) {
		const struct config_device *a = &o->devices[i];
		const struct config_device *b = &n->devices[i];

		if (!same(a->name, b->name) || a->device_id != b->device_id ||
		    !same(a->serial_no, b->serial_no) ||
		    !same(a->model_name, b->model_name) ||
		    !same(a->model_version, b->model_version) ||
		    !same(a->inbox, b->inbox) ||
		    !same(a->done_dir, b->done_dir) ||
		    !same(a->error_dir, b->error_dir))
			return "a device section";
	}
	return "";
}

static void
log_problems(const struct config_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		log_error(NULL, "reload", "%s: %s%s%s", p->v[i].where,
		    p->v[i].key, p->v[i].key[0] != '\0' ? ": " : "",
		    p->v[i].message);
	if (p->dropped > 0)
		log_error(NULL, "reload", "and %zu more problems", p->dropped);
}

/* SIGHUP (see the design note).  0, or -1 fatal. */
static int
reload(struct loop *l)
{
	static struct config_problems p;	/* large: not on the stack */
	struct config *n, *o = l->cfg;
	const char *what;
	char err[512];
	bool reopen_inboxes, new_logs;
	size_t i;

	(void)sdnotify("RELOADING=1");
	config_problems_clear(&p);
	n = config_load(o->path, &p);
	if (n != NULL)
		(void)config_check(n, &p);
	if (n == NULL || p.n > 0 || p.dropped > 0) {
		log_problems(&p);
		log_error(NULL, "reload", "the new configuration has problems: "
		    "keeping the running one");
		config_free(n);
		(void)sdnotify("READY=1");
		return 0;
	}
	if ((what = fixed_change(o, n))[0] != '\0') {
		log_error(NULL, "reload", "%s changed: that needs a restart of "
		    "spoold; keeping the running configuration", what);
		config_free(n);
		(void)sdnotify("READY=1");
		return 0;
	}
	reopen_inboxes = o->settle_ms != n->settle_ms ||
	    o->max_file_size != n->max_file_size || o->inotify != n->inotify;
	new_logs = !same(o->logs_dir, n->logs_dir);

	/*
	 * The swap: everything that points into the old one moves over, for
	 * every device, before anything can fail (so the old one can go).
	 */
	l->cfg = n;
	for (i = 0; i < l->ndevs; i++) {
		struct ldev *d = &l->devs[i];

		d->conf = &n->devices[i];
		device_set_conf(&d->rt, d->conf);
		d->pd.name = d->conf->name;
	}
	for (i = 0; i < l->ndevs; i++) {
		struct ldev *d = &l->devs[i];

		if (reopen_inboxes) {
			intake_close(d->in);
			d->in = NULL;
			if (open_intake(l, d) == -1) {
				config_free(o);
				return -1;
			}
		}
		if (load_pd(l, d, err, sizeof(err)) == -1) {
			log_msg(LOGLV_CRITICAL, NULL, "reload", "device %s: %s",
			    d->conf->name, err);
			config_free(o);
			return -1;
		}
	}
	config_free(o);
	if (new_logs)
		(void)log_init(n->logs_dir, l->opts->foreground,
		    l->opts->verbose);
	else
		(void)log_reopen();
	l->rescan_ms = mono_ms() + n->rescan_interval * 1000;
	log_info(NULL, "reload", "configuration reloaded%s",
	    reopen_inboxes ? " (inboxes reopened)" : "");
	(void)sdnotify("READY=1");
	return 0;
}

/* ---- signals --------------------------------------------------------- */

static int
signals_open(void)
{
	sigset_t set;

	/* SIGPIPE: a peer closing a socket is an error return, not death. */
	(void)signal(SIGPIPE, SIG_IGN);
	/*
	 * SIGIO: the lease break of intake's "still being written?" probe
	 * (fsutil_writers), when a writer opens a file at that instant.
	 */
	(void)signal(SIGIO, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
signals_read(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			l->reload = true;
			break;
		case SIGTERM:
		case SIGINT:
			if (l->stopping) {
				log_info(NULL, "stop", "second signal: stopping "
				    "now");
				l->drain_deadline = 0;
				break;
			}
			log_info(NULL, "stop", "signal %u: finishing the calls "
			    "in flight, then exiting", si.ssi_signo);
			(void)sdnotify("STOPPING=1");
			l->stopping = true;
			l->drain_deadline = mono_ms() + DRAIN_MS;
			outbox_stop(l->ob);
			break;
		default:
			break;
		}
	}
}

/* ---- the loop -------------------------------------------------------- */

static int
pfd_reserve(struct loop *l, size_t n)
{
	struct pollfd *p;

	if (n <= l->pfd_cap)
		return 0;
	if ((p = reallocarray(l->pfd, n, sizeof(*p))) == NULL)
		return -1;
	l->pfd = p;
	l->pfd_cap = n;
	return 0;
}

static void
lower(int64_t *t, int64_t due, int64_t now)
{
	int64_t ms = due - now;

	if (ms < 0)
		ms = 0;
	if (*t < 0 || ms < *t)
		*t = ms;
}

/* --once is done: no file left to take, and the outbox has settled. */
static bool
once_done(const struct loop *l)
{
	size_t i;

	for (i = 0; i < l->ndevs; i++)
		if (!l->devs[i].idle)
			return false;
	return outbox_settled(l->ob);
}

static int
run(struct loop *l)
{
	struct fdms_reply rep;
	void *ud;
	size_t i, nfd, nin, ncurl;
	int64_t now, t;
	int obt, did = 0, rc, ft;
	char err[512];

	l->rescan_ms = mono_ms() + l->cfg->rescan_interval * 1000;
	for (;;) {
		now = mono_ms();
		if (l->reload) {
			l->reload = false;
			if (reload(l) == -1)
				return LOOP_EXIT_FAIL;
		}
		for (i = 0; i < l->ndevs; i++) {
			struct ldev *d = &l->devs[i];

			if (d->pd_stale && load_pd(l, d, err, sizeof(err)) ==
			    -1) {
				log_msg(LOGLV_CRITICAL, NULL, "fatal", "device %s: "
				    "%s", d->conf->name, err);
				return LOOP_EXIT_FAIL;
			}
		}
		did = 0;
		if (!l->stopping) {
			for (i = 0; i < l->ndevs; i++)
				if (l->devs[i].paused &&
				    now >= l->devs[i].retry_ms &&
				    recover_work(l, &l->devs[i]) == -1)
					return LOOP_EXIT_FAIL;
			if (!l->opts->once && now >= l->rescan_ms) {
				l->rescan_ms = now +
				    l->cfg->rescan_interval * 1000;
				for (i = 0; i < l->ndevs; i++)
					if (intake_rescan(l->devs[i].in, now) ==
					    -1) {
						log_msg(LOGLV_CRITICAL, NULL,
						    "fatal", "device %s: the "
						    "inbox cannot be scanned",
						    l->devs[i].conf->name);
						return LOOP_EXIT_FAIL;
					}
			}
			if ((did = work_one(l, now)) == -1)
				return LOOP_EXIT_FAIL;
		}
		if (outbox_run(l->ob, &obt) == -1)
			return LOOP_EXIT_FAIL;
		if (l->opts->once && !did && once_done(l))
			return LOOP_EXIT_OK;
		if (l->stopping && (outbox_in_flight(l->ob) == 0 ||
		    now >= l->drain_deadline)) {
			if (outbox_in_flight(l->ob) > 0)
				log_warnx(NULL, "stop", "%zu FDMS calls cut off: "
				    "their receipts stay in doubt and are resent "
				    "after the restart", outbox_in_flight(l->ob));
			return LOOP_EXIT_OK;
		}

		/* What to wait for, and how long. */
		t = did ? 0 : MAX_WAIT_MS;
		if (obt >= 0)
			lower(&t, now + obt, now);
		if ((ft = fdms_timeout_ms(l->client)) >= 0)
			lower(&t, now + ft, now);
		if (!l->stopping) {
			if (!l->opts->once)
				lower(&t, l->rescan_ms, now);
			for (i = 0; i < l->ndevs; i++) {
				if (l->devs[i].paused)
					lower(&t, l->devs[i].retry_ms, now);
				else if (l->devs[i].due_ms >= 0)
					lower(&t, l->devs[i].due_ms, now);
			}
		} else
			lower(&t, l->drain_deadline, now);
		if (l->watchdog_every > 0)
			lower(&t, l->watchdog_ms, now);

		nin = 0;
		if (pfd_reserve(l, 1 + l->ndevs) == -1)
			return LOOP_EXIT_FAIL;
		l->pfd[0].fd = l->sigfd;
		l->pfd[0].events = POLLIN;
		nfd = 1;
		for (i = 0; i < l->ndevs; i++) {
			l->pfd[nfd].fd = l->stopping ? -1 :
			    intake_fd(l->devs[i].in);
			l->pfd[nfd].events = POLLIN;
			nfd++;
			nin++;
		}
		ncurl = fdms_pollfds(l->client, NULL, 0);
		if (pfd_reserve(l, nfd + ncurl) == -1)
			return LOOP_EXIT_FAIL;
		ncurl = fdms_pollfds(l->client, l->pfd + nfd, ncurl);
		rc = poll(l->pfd, (nfds_t)(nfd + ncurl), (int)t);
		if (rc == -1 && errno != EINTR) {
			log_msg(LOGLV_CRITICAL, NULL, "fatal", "poll: %s",
			    strerror(errno));
			return LOOP_EXIT_FAIL;
		}
		now = mono_ms();
		if (rc > 0 && (l->pfd[0].revents & POLLIN))
			signals_read(l);
		for (i = 0; rc > 0 && i < nin; i++)
			if ((l->pfd[1 + i].revents & (POLLIN | POLLERR)) &&
			    intake_handle_events(l->devs[i].in, now) == -1) {
				log_msg(LOGLV_CRITICAL, NULL, "fatal", "device "
				    "%s: the inbox %s went away",
				    l->devs[i].conf->name,
				    l->devs[i].conf->inbox);
				return LOOP_EXIT_FAIL;
			}
		fdms_perform(l->client, l->pfd + nfd, ncurl);
		while (fdms_take_done(l->client, &rep, &ud))
			if (outbox_done(l->ob, &rep, ud) == -1)
				return LOOP_EXIT_FAIL;
		if (l->watchdog_every > 0 && now >= l->watchdog_ms) {
			(void)sdnotify("WATCHDOG=1");
			l->watchdog_ms = now + l->watchdog_every;
		}
	}
}

/* ---- start and end --------------------------------------------------- */

static int
start(struct loop *l)
{
	static struct config_problems p;	/* large: not on the stack */
	struct outbox_opts oo;
	enum store_rc src;
	char err[512], status[128];
	size_t i;
	int rc;

	config_set_store_check(store_config_check);
	l->cfg = config_load(l->opts->config_path, &p);
	if (l->cfg != NULL)
		(void)config_check(l->cfg, &p);
	if (l->cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoold", &p);
		return LOOP_EXIT_CONFIG;
	}
	if (timeutil_set_zone(l->cfg->timezone) == -1) {
		fprintf(stderr, "spoold: unknown time zone %s\n",
		    l->cfg->timezone);
		return LOOP_EXIT_CONFIG;
	}
	if (l->cfg->encryption_key != NULL) {
		if (fernet_key_parse(l->cfg->encryption_key, l->fkey) == -1) {
			fprintf(stderr, "spoold: encryption_key is not a Fernet "
			    "key\n");
			return LOOP_EXIT_CONFIG;
		}
		l->has_fkey = true;
	}
	if (!l->opts->foreground && !l->opts->once && !sdnotify_enabled() &&
	    detach(&l->ready_fd) == -1) {
		fprintf(stderr, "spoold: cannot detach: %s\n", strerror(errno));
		return LOOP_EXIT_FAIL;
	}
	/* Root's work ends here: nothing opened yet, no inbox file read. */
	if (privdrop(l->cfg->user, err, sizeof(err)) == -1) {
		fprintf(stderr, "spoold: %s\n", err);
		return LOOP_EXIT_CONFIG;
	}
	l->log_stderr = l->opts->foreground;
	if (log_init(l->cfg->logs_dir, l->opts->foreground,
	    l->opts->verbose) == -1)
		l->log_stderr = true;	/* log.c falls back to stderr */
	if (geteuid() == 0 && l->cfg->env == CONFIG_ENV_PRODUCTION)
		log_warnx(NULL, "start", "running as root: set user = ACCOUNT "
		    "in [global] (or run under systemd's User=)");
	if ((l->sigfd = signals_open()) == -1)
		return startup_fail(l, LOOP_EXIT_FAIL, "signalfd: %s",
		    strerror(errno));
	if ((rc = take_locks(l)) != 0)
		return rc;
	if ((l->store = store_open_config(l->cfg, &src, err, sizeof(err))) ==
	    NULL)
		return startup_fail(l, src == STORE_SCHEMA ? LOOP_EXIT_CONFIG :
		    LOOP_EXIT_FAIL, "journal: %s", err);
	if ((l->client = device_client_new(l->cfg, err, sizeof(err))) == NULL)
		return startup_fail(l, LOOP_EXIT_CONFIG, "FDMS client: %s",
		    err);
	if (doc_schemas_load(&l->schemas, doc_schema_dir(), err,
	    sizeof(err)) == -1)
		return startup_fail(l, LOOP_EXIT_CONFIG, "schemas: %s", err);
	l->schemas_loaded = true;

	memset(&oo, 0, sizeof(oo));
	oo.once = l->opts->once;
	oo.changed = device_changed;
	oo.changed_arg = l;
	if ((l->ob = outbox_new(l->store, l->client, &oo)) == NULL ||
	    (l->devs = calloc(l->cfg->ndevices, sizeof(*l->devs))) == NULL)
		return startup_fail(l, LOOP_EXIT_FAIL, "out of memory");
	for (i = 0; i < l->cfg->ndevices; i++) {
		if ((rc = open_device(l, &l->devs[i], &l->cfg->devices[i])) !=
		    0) {
			l->ndevs = i + 1;
			return rc;
		}
		l->ndevs = i + 1;
	}

	/* Recovery: work/ first, then the outbox looks at its journal. */
	(void)sdnotify("STATUS=recovering");
	for (i = 0; i < l->ndevs; i++) {
		if (recover_work(l, &l->devs[i]) == -1)
			return startup_fail(l, LOOP_EXIT_FAIL, "device %s: "
			    "recovery failed", l->devs[i].conf->name);
		if (outbox_add(l->ob, &l->devs[i].rt, &l->devs[i].pd) == -1)
			return startup_fail(l, LOOP_EXIT_FAIL, "device %s: "
			    "journal unreadable", l->devs[i].conf->name);
	}
	if ((l->watchdog_every = sdnotify_watchdog_ms() / 2) > 0)
		l->watchdog_ms = mono_ms();
	log_info(NULL, "start", "spoold %s: env %s, %zu device%s, journal %s",
	    l->opts->once ? "--once" : "started", config_env_name(l->cfg->env),
	    l->ndevs, l->ndevs == 1 ? "" : "s", l->cfg->database);
	snprintf(status, sizeof(status), "STATUS=serving %zu device%s",
	    l->ndevs, l->ndevs == 1 ? "" : "s");
	(void)sdnotify(status);
	tell_ready(l);
	return LOOP_EXIT_OK;
}

static void
finish(struct loop *l)
{
	size_t i;

	/* The client first: it aborts what is in flight (outbox.h). */
	fdms_client_free(l->client);
	outbox_free(l->ob);
	for (i = 0; i < l->ndevs; i++)
		close_device(&l->devs[i]);
	free(l->devs);
	if (l->schemas_loaded)
		doc_schemas_free(&l->schemas);
	store_close(l->store);
	config_free(l->cfg);
	free(l->pfd);
	if (l->sigfd != -1)
		(void)close(l->sigfd);
	OPENSSL_cleanse(l->fkey, sizeof(l->fkey));
	/* The locks go with the process; closing them is the last act. */
	if (l->lock_db != -1)
		(void)close(l->lock_db);
	if (l->lock_spool != -1)
		(void)close(l->lock_spool);
}

int
loop_main(const struct loop_opts *opts)
{
	struct loop l;
	int64_t n = 0;
	int rc;

	memset(&l, 0, sizeof(l));
	l.opts = opts;
	l.sigfd = l.lock_spool = l.lock_db = l.ready_fd = -1;
	/* Device keys are decrypted in this process: no core file, ever. */
	if (nocore() == -1) {
		fprintf(stderr, "spoold: cannot disable core dumps: %s\n",
		    strerror(errno));
		return LOOP_EXIT_FAIL;
	}
	if ((rc = start(&l)) != LOOP_EXIT_OK && l.ready_fd != -1) {
		char c = (char)rc;

		/* The detached parent exits with our start-up status. */
		if (write(l.ready_fd, &c, 1) != 1)
			rc = LOOP_EXIT_FAIL;
	} else if (rc == LOOP_EXIT_OK) {
		rc = run(&l);
		if (rc == LOOP_EXIT_FAIL)
			log_msg(LOGLV_CRITICAL, NULL, "stop", "exiting after a "
			    "fatal error; the restart recovers");
		else if (opts->once) {
			size_t i;
			bool paused = false;

			for (i = 0; i < l.ndevs; i++)
				paused = paused || l.devs[i].paused;
			if (outbox_pending(l.ob, &n) == -1)
				rc = LOOP_EXIT_FAIL;
			else if (n > 0 || paused) {
				log_info(NULL, "stop", "--once: %lld receipts not "
				    "yet accepted by FDMS%s", (long long)n, paused ?
				    ", and deferred files" : "");
				rc = LOOP_EXIT_PENDING;
			} else
				log_info(NULL, "stop", "--once: everything "
				    "submitted");
		} else
			log_info(NULL, "stop", "stopped");
	}
	finish(&l);
	log_close();
	return rc;
}
