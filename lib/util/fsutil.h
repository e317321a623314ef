/*
 * fsutil.h - the only place that opens, reads and writes files directly.
 *
 * Reading untrusted files: never through a symbolic link, never blocking
 * on a FIFO or device, only regular files, with a size cap checked on the
 * open descriptor (so a file swapped after a check is still the one read).
 *
 * Writing and moving (the spool's state changes): a file appears under its
 * final name complete or not at all (fsutil_write_atomic), a move never
 * replaces what is already there (fsutil_move), and every directory that
 * changed is fsynced before the call returns.
 *
 * Status convention of the int-returning calls below:
 *	FSUTIL_OK	done, and durable;
 *	FSUTIL_ERR	this operation failed and nothing changed (errno says
 *			why); the caller may go on with other work;
 *	FSUTIL_FATAL	an fsync failed: what reached the disk is unknown, and
 *			a second fsync could report success for data that is
 *			lost (the kernel clears the error), so the caller must
 *			not retry but exit and let the start-up scan recover;
 *	FSUTIL_LOCKED	fsutil_lock only: another process holds the lock.
 */
#ifndef UTIL_FSUTIL_H
#define UTIL_FSUTIL_H

#include <sys/types.h>

#include <stddef.h>

enum fsread_status {
	FSREAD_OK = 0,
	FSREAD_OPEN,		/* cannot open (errno in message) */
	FSREAD_SYMLINK,		/* a symbolic link: refused */
	FSREAD_NOT_REGULAR,	/* FIFO, device, socket, directory */
	FSREAD_TOO_LARGE,
	FSREAD_IO,		/* read error or file changed size */
	FSREAD_RESOURCE		/* out of memory or descriptors, or a disk
				   I/O error: the environment's fault, not the
				   file's (callers treat it as fatal) */
};

enum fsutil_status {
	FSUTIL_OK = 0,
	FSUTIL_ERR = -1,
	FSUTIL_FATAL = -2,
	FSUTIL_LOCKED = -3
};

/* Temporary files of fsutil_write_atomic start with this (a dotfile). */
#define FSUTIL_TMP_PREFIX	".spoold-tmp."

/*
 * Read a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer. On error *out is NULL and err holds a message naming the file.
 */
enum fsread_status fsutil_read_file(const char *path, size_t max, char **out,
		    size_t *len, char *err, size_t errlen);
/*
 * The same for a descriptor already open (a claimed spool file), read from
 * offset 0 with pread, so the descriptor's offset does not matter; err does
 * not name a file (the caller knows which one it is).
 */
enum fsread_status fsutil_read_fd(int fd, size_t max, char **out,
		    size_t *len, char *err, size_t errlen);
/* Stable code for error files: NOT_REGULAR_FILE, TOO_LARGE, ... */
const char	*fsread_code(enum fsread_status);
/* Is errno an environment problem (EMFILE, ENFILE, ENOMEM, EIO, ENOSPC)? */
int		 fsutil_errno_is_resource(int);

/*
 * Open name in dirfd for reading the way untrusted files are opened:
 * O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC|O_NOCTTY.  A descriptor or -1
 * (errno; ELOOP for a symbolic link).  The caller must fstat it: this call
 * does not refuse FIFOs, directories or hard links by itself.
 */
int		 fsutil_openat_nofollow(int dirfd, const char *name);

/*
 * Has some process the file behind fd (a regular file open read-only)
 * still open for writing?  1 yes, 0 no, -1 cannot tell.  Linux tells by
 * a read lease, which F_SETLEASE refuses (EAGAIN) while anyone has the
 * file open for writing; one granted is let go at once.  Only on local
 * file systems (ext4, xfs, btrfs, tmpfs, f2fs, overlay, reiserfs): a
 * network client's view knows nothing of remote writers, and CIFS refuses
 * any lease without an oplock, which would read as "still writing".
 * Leases also need the file's owner or CAP_LEASE (else -1).  SIGIO must
 * be ignored by the caller's process (spoold ignores it): a writer that
 * opens the file during the probe breaks the lease, and the kernel tells
 * the lease holder with SIGIO, whose default action ends the process.
 */
int		 fsutil_writers(int fd);

/*
 * Directory descriptor for path (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC, so the
 * last component may not be a symbolic link).  create: mkdir it (0750,
 * one level) when missing and fsync the parent.  -1 with errno on error.
 */
int		 fsutil_open_dir(const char *path, int create);
/* fsync a directory: 0, or -1 with errno (a failure is FSUTIL_FATAL). */
int		 fsutil_fsync_dir(int dirfd);

/*
 * Write data to dirfd/name atomically, replacing an existing name (result
 * files are rewritten when FDMS answers): a temporary file in the same
 * directory, created O_EXCL with exactly mode (umask does not apply),
 * written, fsynced, closed, renamed over name; then the directory is
 * fsynced.  On FSUTIL_ERR the temporary file is gone and name untouched.
 */
int		 fsutil_write_atomic(int dirfd, const char *name,
		    const void *data, size_t len, mode_t mode, char *err,
		    size_t errlen);

/*
 * Remove the temporary files fsutil_write_atomic left in dirfd when its
 * process died between creating and renaming one (regular files named
 * FSUTIL_TMP_PREFIX...; nothing else is touched, nothing followed).  Only
 * for a caller that holds the lock excluding every other writer of dirfd
 * (spoold's spool lock): a live writer's temporary would go too.  The
 * number removed, or -1 with errno and err (the listing or an unlink
 * failed; what was removed before stays removed).
 */
int		 fsutil_remove_tmp(int dirfd, char *err, size_t errlen);

/*
 * Move from_dirfd/from to to_dirfd/to without ever replacing an entry:
 * when to is taken, the first free name of to.1.ext, to.2.ext, ... is
 * used ("sale.json" -> "sale.1.json"; the suffix goes before the last
 * extension so the file keeps its type; a name without one, or a dotfile
 * like ".x", gets it at the end: "x.1", ".x.1").  After 1000 numbered
 * tries a number from the clock is used.  A name pushed past 255 bytes by
 * the suffix loses bytes from the end of its stem (never the extension,
 * never inside a UTF-8 sequence); no other change is ever made to a name,
 * and final (if not NULL) receives the name used, so nothing is renamed
 * silently.  A symbolic link, FIFO or directory is moved as the entry
 * itself: nothing is followed or opened.  Both directories are fsynced,
 * the target first.  Both must be on the same file system (EXDEV).
 */
int		 fsutil_move(int from_dirfd, const char *from, int to_dirfd,
		    const char *to, char *final, size_t finallen, char *err,
		    size_t errlen);

/*
 * Move from_dirfd/from to exactly to_dirfd/to, never replacing: when to
 * is taken this is FSUTIL_ERR with errno EEXIST and nothing moved (no
 * numbered name: for an operator's move, where the caller refuses
 * instead).  Otherwise as fsutil_move: nothing followed, both directories
 * fsynced (target first, FSUTIL_FATAL when that fails), same file system.
 */
int		 fsutil_move_exact(int from_dirfd, const char *from,
		    int to_dirfd, const char *to, char *err, size_t errlen);

/*
 * Remove the entry name (not a directory) from dirfd, then fsync dirfd so
 * the removal is durable.  FSUTIL_OK; FSUTIL_ERR with errno (ENOENT when
 * there is no such entry) and err naming it; FSUTIL_FATAL when the entry
 * went but the directory sync failed.
 */
int		 fsutil_unlink(int dirfd, const char *name, char *err,
		    size_t errlen);

/*
 * Take an exclusive lock on path (created 0600 if missing, O_NOFOLLOW,
 * must be a regular file) with flock(LOCK_EX|LOCK_NB), and write our pid
 * into it for the operator.  FSUTIL_OK with *fd held open (the lock lives
 * as long as the descriptor: keep it, never close it by accident);
 * FSUTIL_LOCKED when another process (or another open of the same file)
 * holds it, err naming the holder's pid when known; FSUTIL_ERR otherwise.
 */
/*
 * Half of an interrupted link+unlink move (the fallback of fsutil_move on
 * file systems without RENAME_NOREPLACE): is work/NAME, a regular file with
 * two links, the same inode as an entry of one of the target directories?
 * Then its other name is the real one and this name is removed (the
 * directory synced). 1 removed, 0 not such a leftover, FSUTIL_FATAL when the
 * removal could not be made durable. Reads no file content.
 */
int		 fsutil_drop_moved_twin(int dirfd, const char *name,
		    const int *target_dirfds, size_t ntargets, char *err,
		    size_t errlen);
int		 fsutil_lock(const char *path, int *fd, char *err,
		    size_t errlen);

/*
 * Tests only: FSUTIL_TEST_NO_RENAMEAT2 makes fsutil_move take its
 * link+unlink path (what file systems without RENAME_NOREPLACE get);
 * FSUTIL_TEST_FAIL_FSYNC makes every fsync fail with EIO.  0: normal.
 */
#define FSUTIL_TEST_NO_RENAMEAT2	0x01
#define FSUTIL_TEST_FAIL_FSYNC		0x02
void		 fsutil_test_set(int flags);

/*
 * Directory listing and lookups for readers of a spool directory (the
 * audit): nothing is opened but the directory, nothing followed.
 *
 * fsutil_each_entry calls cb(name, arg) for every entry of dirfd except
 * "." and "..", in directory order (unsorted); cb returns 0 to go on, a
 * positive value to stop the walk, which is then returned.  0 when every
 * entry was seen, -1 with errno and err when the directory could not be
 * read.
 * dirfd's own offset is not moved.
 */
int		 fsutil_each_entry(int dirfd,
		    int (*cb)(const char *name, void *arg), void *arg,
		    char *err, size_t errlen);

/* What name is in dirfd, without following a symbolic link. */
enum fsentry_type {
	FSENTRY_NONE = 0,	/* no such entry */
	FSENTRY_REGULAR,	/* a regular file */
	FSENTRY_OTHER,		/* a directory, link, FIFO, device, socket */
	FSENTRY_ERROR		/* cannot tell (errno), or an invalid name */
};
enum fsentry_type fsutil_entry_type(int dirfd, const char *name);

/*
 * fsutil_read_file for the entry name of dirfd (opened the untrusted way:
 * no symbolic link, no FIFO, regular files only, size cap); err names it.
 */
enum fsread_status fsutil_read_at(int dirfd, const char *name, size_t max,
		    char **out, size_t *len, char *err, size_t errlen);

#endif
