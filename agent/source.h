/*
 * source.h - the agent's log sources: a rotation-safe file tail, the
 * systemd journal and stdin, each handing out complete lines.
 *
 * A source is opened from its [source.NAME] section and driven from the
 * reader process's poll loop (agent/reader.c); `dir` is where its cursor
 * lives (the agent passes <state_dir>/cursors):
 *
 *   s = bc_source_open(cfg, dir, err, sizeof(err));
 *   loop:
 *     poll bc_source_fd(s) for POLLIN (if >= 0) with a timeout of at
 *     most bc_source_timeout_ms(s);
 *     n = bc_source_read(s, on_line, arg, batch);   (on POLLIN or timeout)
 *     ... bc_source_save(s) once the lines' events are safe ...
 *   bc_source_close(&s);
 *
 * Lines:
 *   - Each line is delivered once, complete, without its "\n" (and without
 *     a "\r" just before it). A last line without "\n" is held back until
 *     its newline arrives (stdin at EOF and a rotated-away file that is
 *     given up deliver it as it is).
 *   - Lines longer than BC_PARSE_LINE_MAX bytes are NOT delivered: they are
 *     counted in stats.overlong and skipped up to their newline, never cut.
 *     So the callback always gets len <= BC_PARSE_LINE_MAX.
 *   - The line pointer is valid only during the callback.
 *
 * type = file (source_file.c):
 *   - inotify on the file (appends), the directory of the configured path
 *     and the directory of the resolved path (rename, create, delete,
 *     symlink changes), plus a check every BC_SOURCE_CHECK_MS for what
 *     inotify cannot see (NFS, missing directories, a watch race).
 *   - Rotation by rename + create, delete + re-create, or a symlink now
 *     naming another file: the path is followed to the new file, read from
 *     its start, and the old file stays open ("draining") until it has
 *     been idle for BC_SOURCE_OLD_IDLE_MS after the new file got data (or
 *     BC_SOURCE_OLD_LINGER_MS in any case), so lines a writer puts into the
 *     old file before reopening are still delivered, before the new
 *     file's. At most BC_SOURCE_OLD_MAX old files drain at once; when
 *     all are busy (rotations faster than they go idle) the oldest is
 *     given up once read to its end, and if it is not, the switch to the
 *     newest file waits for the reader to catch up.
 *   - copytruncate: a file that shrinks, or whose first line changed, was
 *     truncated; it is read again from offset 0. Lines the reader had not
 *     reached yet are read from the copy, found next to the file as
 *     NAME.* or NAME-* (same first line, at least as long as what was
 *     read). Lines written between the copy and the truncation are lost:
 *     that race is copytruncate's own.
 *   - Cursor: dir/source-NAME.cursor holds (device, inode, offset of
 *     the next undelivered line, length and BLAKE2b hash of the first line)
 *     for the current file and for every draining one. On open:
 *       * no cursor file (first ever start): start at the end of the last
 *         complete line of the file, or at its start when it only appears
 *         later;
 *       * same device + inode + first-line hash, and the file is at least
 *         offset long: resume at offset;
 *       * same inode, same first line, file shorter: it was truncated while
 *         the agent was down: copytruncate handling (copy, then offset 0);
 *       * the path names another file (rotated while down): the old file is
 *         looked for by device + inode (and verified by its first-line
 *         hash) among NAME.* / NAME-* next to the path; if found it is
 *         finished from the saved offset, then the new file is read from
 *         its start. A compressed or removed old file cannot be found:
 *         what it held after the offset is lost, and counted nowhere;
 *       * same inode but another first line (the inode was reused): the
 *         file is new and read from its start.
 *     A damaged cursor file makes bc_source_open fail: remove it to start
 *     over at the end of the file.
 *
 * type = journal (source_journal.c):
 *   - sd-journal: `path` names a journal directory or one journal file;
 *     empty opens the local journal (SD_JOURNAL_LOCAL_ONLY). A directory
 *     or the local journal follows journal rotation (files added and
 *     removed); one named file is followed only as it grows. Matches (ORed):
 *     SYSLOG_IDENTIFIER equal to one of the mail programs' names (the
 *     postfix/... services, exim, exim4, sendmail, sm-mta, sm-msp-queue,
 *     dovecot) or SYSLOG_FACILITY=2 (mail), which also catches Postfix
 *     instances with their own syslog_name. Both fields are written by the
 *     logging program: as with syslog, a local user who can log can log
 *     under these names.
 *   - Each entry becomes "YYYY-MM-DDThh:mm:ss.uuuuuu+00:00 HOST IDENT[PID]:
 *     MESSAGE" (rsyslog's high-precision form) from the entry's realtime,
 *     _HOSTNAME ("-" if absent), SYSLOG_IDENTIFIER (else _COMM), _PID (else
 *     SYSLOG_PID; "[PID]" omitted if neither) and MESSAGE. HOST and IDENT
 *     keep only [A-Za-z0-9._/@-] (others become '_'); control bytes in
 *     MESSAGE are written as "#ooo" (octal, as rsyslog does), trailing
 *     newlines dropped. Entries without MESSAGE are skipped.
 *   - The cursor (sd_journal_get_cursor) of the last entry read is
 *     persisted; a reopen resumes after it. The first ever start begins
 *     after the last entry present. sd_journal_process() runs on every
 *     read so journal files added by rotation are picked up and deleted
 *     ones closed.
 *
 * type = stdin: fd 0, switched to non-blocking; bc_source_eof() turns true
 * once it is closed. No cursor.
 *
 * Errors: bc_source_open returns NULL with a one-line message in err;
 * bc_source_read and bc_source_save return -1 with the reason in
 * bc_source_error(). Nothing here prints or exits.
 */
#ifndef BC_SOURCE_H
#define BC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/agent.h"
#include "logparse/parse.h"

#define BC_SOURCE_CHECK_MS 1000       /* rotation/truncation check interval */
#define BC_SOURCE_OLD_MAX 4           /* rotated files draining at once */
#define BC_SOURCE_OLD_IDLE_MS 1000    /* idle time before an old file closes */
#define BC_SOURCE_OLD_LINGER_MS 30000 /* ... even if the new file is empty */
#define BC_SOURCE_HASH_MAX 1024       /* first-line bytes hashed, at most */
#define BC_SOURCE_READ_BUDGET (4u << 20) /* bytes read per bc_source_read */
#define BC_SOURCE_SCAN_MAX 4096       /* directory entries looked at */
#define BC_SOURCE_CURSOR_MAX 4096     /* size of a cursor file */
#define BC_SOURCE_ERR_MAX 256

struct bc_source;

/* One complete line, without its newline; len <= BC_PARSE_LINE_MAX. */
typedef void (*bc_source_line_fn)(void *arg, const char *line, size_t len);

struct bc_source_stats {
	uint64_t lines;       /* lines delivered */
	uint64_t bytes;       /* bytes read (file, stdin) or delivered (journal) */
	uint64_t overlong;    /* lines over BC_PARSE_LINE_MAX, skipped */
	uint64_t rotations;   /* the path came to name another file */
	uint64_t truncations; /* the file shrank (copytruncate) */
};

/*
 * Open a source. state_dir holds the cursor (NULL or "": no cursor is read
 * or written, and every open is a first start). NULL on error, with a
 * message in err.
 */
struct bc_source *bc_source_open(const struct bc_source_cfg *cfg,
				 const char *state_dir, char *err,
				 size_t errlen);

/* The fd to poll for POLLIN (inotify, journal or stdin fd), or -1. */
int bc_source_fd(const struct bc_source *s);

/*
 * Call bc_source_read at least this often, in ms, even without POLLIN:
 * 0 when lines are already waiting (the last read stopped at max_lines
 * or a truncation was found), else at most BC_SOURCE_CHECK_MS. Never
 * negative.
 */
int bc_source_timeout_ms(const struct bc_source *s);

/*
 * Deliver up to max_lines available complete lines to fn. Returns the
 * number delivered (0 when none is ready), or -1 (bc_source_error).
 */
long bc_source_read(struct bc_source *s, bc_source_line_fn fn, void *arg,
		    size_t max_lines);

/*
 * Persist the position after the last delivered line in
 * state_dir/source-NAME.cursor (temporary file, fsync, rename, fsync of
 * the directory). 0, or -1 (bc_source_error). A no-op for stdin or
 * without state_dir.
 */
int bc_source_save(struct bc_source *s);

/* stdin was closed and everything it sent was delivered. */
bool bc_source_eof(const struct bc_source *s);

/* Last error, "" if none. */
const char *bc_source_error(const struct bc_source *s);

/* After a successful open: something worth a warning ("" if none), e.g.
 * a journal of which no file is readable. */
const char *bc_source_notice(const struct bc_source *s);

const struct bc_source_stats *bc_source_stats(const struct bc_source *s);

/* Close every descriptor (without saving) and free; sets *s to NULL. */
void bc_source_close(struct bc_source **s);

#ifdef BC_SOURCE_INTERNAL
/*
 * Shared by source.c, source_file.c and source_journal.c only.
 */
#include <limits.h>
#include <sys/types.h>

#define BC_SOURCE_BUF (2 * BC_PARSE_LINE_MAX) /* line assembly buffer */
#define BC_SOURCE_HASH_BYTES 32               /* BLAKE2b-256 */
#define BC_SOURCE_JCURSOR_MAX 512             /* journal cursor text */

enum bc_source_type { BC_SRC_FILE, BC_SRC_JOURNAL, BC_SRC_STDIN };

/* An open file being read line by line. */
struct bc_tail {
	int fd;            /* -1: none */
	int wd;            /* inotify watch on the file, -1: none */
	dev_t dev;
	ino_t ino;
	uint64_t off;      /* file offset of the next undelivered line */
	uint64_t roff;     /* file offset of buf[end] */
	size_t start, end; /* unconsumed bytes in buf */
	size_t scan;       /* newline search resumes here */
	bool skipping;     /* inside an over-long line: drop up to "\n" */
	bool at_eof;       /* the last read returned 0 */
	size_t hlen;       /* first-line bytes hashed, 0 = not yet known */
	uint8_t hash[BC_SOURCE_HASH_BYTES];
	int64_t active_ms; /* monotonic time of the last growth or rotation */
	char buf[BC_SOURCE_BUF];
};

/* A saved position in a file (one line of a cursor file). */
struct bc_fcursor {
	bool valid;
	dev_t dev;
	ino_t ino;
	uint64_t off;
	size_t hlen;
	uint8_t hash[BC_SOURCE_HASH_BYTES];
};

struct sd_journal;

struct bc_source {
	enum bc_source_type type;
	char name[BC_NAME_MAX];
	char path[BC_CFG_STR_MAX];
	char cursor_path[PATH_MAX]; /* "" without state_dir */
	char err[BC_SOURCE_ERR_MAX];
	char notice[BC_SOURCE_ERR_MAX]; /* after open: worth a warning, "" if not */
	struct bc_source_stats stats;
	bool eof;
	bool more;                  /* lines left behind by max_lines */
	/* file */
	int ino_fd;                 /* inotify */
	int dwd[2];                 /* watches: dir of path, dir of resolved */
	char resolved[PATH_MAX];    /* realpath(path), "" if unresolved */
	bool need_check;
	int64_t next_check_ms;
	struct bc_tail cur;         /* stdin uses cur too */
	struct bc_tail *old[BC_SOURCE_OLD_MAX]; /* oldest first */
	size_t nold;
	/* journal */
	struct sd_journal *j;
	int jfd;
	bool jpending;              /* next entry may be the saved one */
	char jcursor[BC_SOURCE_JCURSOR_MAX]; /* "" if none */
	char jline[BC_PARSE_LINE_MAX + 1];
};

void bc_source_seterr(struct bc_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Line assembly over a tail's buffer. */
void bc_tail_init(struct bc_tail *t);
void bc_tail_reset(struct bc_tail *t, uint64_t off);
size_t bc_tail_lines(struct bc_source *s, struct bc_tail *t,
		     bc_source_line_fn fn, void *arg, size_t max);
long bc_tail_pump(struct bc_source *s, struct bc_tail *t,
		  bc_source_line_fn fn, void *arg, size_t max,
		  size_t *budget);
void bc_tail_flush_partial(struct bc_source *s, struct bc_tail *t,
			   bc_source_line_fn fn, void *arg);

/* Cursor file I/O: whole text, read (1 = read, 0 = none, -1 = error). */
int bc_source_cursor_load(struct bc_source *s, char *buf, size_t cap);
int bc_source_cursor_store(struct bc_source *s, const char *text, size_t len);

/*
 * Per-type back ends, called by source.c: open (text is the cursor file's
 * content when have is 1), read, save, timeout and close (releases every
 * descriptor, never fails).
 */
int bc_source_file_open(struct bc_source *s, const char *text, int have);
long bc_source_file_read(struct bc_source *s, bc_source_line_fn fn,
			 void *arg, size_t max);
int bc_source_file_save(struct bc_source *s);
int bc_source_file_timeout(const struct bc_source *s);
void bc_source_file_close(struct bc_source *s);

int bc_source_journal_open(struct bc_source *s, const char *text, int have);
long bc_source_journal_read(struct bc_source *s, bc_source_line_fn fn,
			    void *arg, size_t max);
int bc_source_journal_save(struct bc_source *s);
int bc_source_journal_timeout(const struct bc_source *s);
void bc_source_journal_close(struct bc_source *s);
#endif /* BC_SOURCE_INTERNAL */

#endif
