/*
 * source.c - log sources: the public entry points, line assembly shared by
 * the file and stdin sources, the stdin source itself and the cursor file.
 *
 * Input: bytes from a log file, the journal or stdin, all untrusted. They
 * are only cut into lines here (memchr for "\n", a fixed cap); nothing is
 * interpreted. Memory is bounded: one BC_SOURCE_BUF buffer per open file.
 *
 * Ownership: a struct bc_source owns every descriptor it opened (files,
 * inotify, the journal); bc_source_close releases them all. The line
 * handed to the callback points into the source's buffer and is valid
 * only during the call.
 *
 * Errors: constructors fill err, the rest return -1 and keep the reason
 * for bc_source_error(); nothing prints or exits.
 */
#define BC_SOURCE_INTERNAL
#include "agent/source.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* Keep a one-line error for bc_source_error(). */
void bc_source_seterr(struct bc_source *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

/* An empty tail with no file. */
void bc_tail_init(struct bc_tail *t)
{
	t->fd = -1;
	t->wd = -1;
	t->dev = 0;
	t->ino = 0;
	t->hlen = 0;
	t->active_ms = 0;
	bc_tail_reset(t, 0);
}

/* Forget buffered bytes; the next byte read is at file offset off. */
void bc_tail_reset(struct bc_tail *t, uint64_t off)
{
	t->off = off;
	t->roff = off;
	t->start = t->end = t->scan = 0;
	t->skipping = false;
	t->at_eof = false;
}

/*
 * Deliver up to max complete lines from t's buffer. Lines over the cap are
 * counted and skipped up to their newline; a "\r" before the "\n" is
 * dropped. t->off follows the first undelivered line (while skipping it
 * stays at the start of the over-long line).
 */
size_t bc_tail_lines(struct bc_source *s, struct bc_tail *t,
		     bc_source_line_fn fn, void *arg, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *b = t->buf + t->start;
		char *nl = memchr(t->buf + t->scan, '\n', t->end - t->scan);
		size_t len;

		if (nl == NULL) {
			t->scan = t->end;
			if (!t->skipping &&
			    t->end - t->start > (size_t)BC_PARSE_LINE_MAX + 1) {
				s->stats.overlong++;
				t->skipping = true;
			}
			if (t->skipping)
				t->start = t->end = t->scan = 0;
			break;
		}
		len = (size_t)(nl - b);
		if (t->skipping) {
			t->skipping = false;
		} else {
			size_t l = len;

			if (l > 0 && b[l - 1] == '\r')
				l--;
			if (l > BC_PARSE_LINE_MAX) {
				s->stats.overlong++;
			} else {
				fn(arg, b, l);
				s->stats.lines++;
				n++;
			}
		}
		t->start += len + 1;
		t->scan = t->start;
		t->off = t->roff - (t->end - t->start);
	}
	if (t->start == t->end)
		t->start = t->end = t->scan = 0;
	return n;
}

/*
 * Read t->fd and deliver lines until EOF / EAGAIN, max lines, or the byte
 * budget is spent (then s->more is set). Returns lines delivered, or -1.
 */
long bc_tail_pump(struct bc_source *s, struct bc_tail *t,
		  bc_source_line_fn fn, void *arg, size_t max, size_t *budget)
{
	size_t n = 0;

	t->at_eof = false;
	for (;;) {
		ssize_t r;

		n += bc_tail_lines(s, t, fn, arg, max - n);
		if (n >= max || *budget == 0) {
			s->more = true;
			break;
		}
		if (t->start > 0) {
			memmove(t->buf, t->buf + t->start, t->end - t->start);
			t->end -= t->start;
			t->scan -= t->start;
			t->start = 0;
		}
		r = read(t->fd, t->buf + t->end,
			 sizeof(t->buf) - t->end < *budget
				 ? sizeof(t->buf) - t->end
				 : *budget);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			bc_source_seterr(s, "%s: read: %s", s->name,
					 strerror(errno));
			return -1;
		}
		if (r == 0) {
			t->at_eof = true;
			break;
		}
		t->end += (size_t)r;
		t->roff += (uint64_t)r;
		*budget -= (size_t)r;
		s->stats.bytes += (uint64_t)r;
		t->active_ms = bc_mono_ms();
	}
	return (long)n;
}

/*
 * The file will not grow again (stdin closed, old file given up): hand out
 * a last line that never got its newline, if it fits the cap.
 */
void bc_tail_flush_partial(struct bc_source *s, struct bc_tail *t,
			   bc_source_line_fn fn, void *arg)
{
	size_t l = t->end - t->start;

	if (!t->skipping && l > 0) {
		if (t->buf[t->start + l - 1] == '\r')
			l--;
		if (l > BC_PARSE_LINE_MAX) {
			s->stats.overlong++;
		} else {
			fn(arg, t->buf + t->start, l);
			s->stats.lines++;
		}
	}
	t->off = t->roff;
	t->start = t->end = t->scan = 0;
	t->skipping = false;
}

/*
 * Read the cursor file into buf (NUL-terminated). 1 = read, 0 = there is
 * none, -1 = error (message in s->err).
 */
int bc_source_cursor_load(struct bc_source *s, char *buf, size_t cap)
{
	int fd;
	size_t len = 0;

	if (s->cursor_path[0] == '\0')
		return 0;
	fd = open(s->cursor_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		bc_source_seterr(s, "%s: %s", s->cursor_path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			bc_source_seterr(s, "%s: %s", s->cursor_path,
					 strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap - 1) {
			bc_source_seterr(s, "%s: larger than %zu bytes",
					 s->cursor_path, cap - 1);
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		bc_source_seterr(s, "%s: NUL byte in cursor file",
				 s->cursor_path);
		return -1;
	}
	return 1;
}

/* Write all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Replace the cursor file atomically: tmp, fsync, rename, fsync dir. */
int bc_source_cursor_store(struct bc_source *s, const char *text, size_t len)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	char *slash;
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->cursor_path) >=
	    (int)sizeof(tmp)) {
		bc_source_seterr(s, "%s: path too long", s->cursor_path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		bc_source_seterr(s, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		bc_source_seterr(s, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, s->cursor_path) < 0) {
		bc_source_seterr(s, "%s: %s", s->cursor_path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", s->cursor_path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

struct bc_source *bc_source_open(const struct bc_source_cfg *cfg,
				 const char *state_dir, char *err,
				 size_t errlen)
{
	struct bc_source *s;
	char *text;
	int have, rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "[source.%s]: libsodium init failed",
			 cfg->name);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "[source.%s]: out of memory", cfg->name);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	snprintf(s->path, sizeof(s->path), "%s", cfg->path);
	s->ino_fd = -1;
	s->dwd[0] = s->dwd[1] = -1;
	s->jfd = -1;
	bc_tail_init(&s->cur);
	if (strcmp(cfg->type, "file") == 0) {
		s->type = BC_SRC_FILE;
	} else if (strcmp(cfg->type, "journal") == 0) {
		s->type = BC_SRC_JOURNAL;
	} else if (strcmp(cfg->type, "stdin") == 0) {
		s->type = BC_SRC_STDIN;
	} else {
		snprintf(err, errlen, "[source.%s] type: unknown \"%.16s\"",
			 cfg->name, cfg->type);
		free(s);
		return NULL;
	}
	if (s->type != BC_SRC_STDIN && state_dir != NULL &&
	    state_dir[0] != '\0' &&
	    snprintf(s->cursor_path, sizeof(s->cursor_path),
		     "%s/source-%s.cursor", state_dir,
		     s->name) >= (int)sizeof(s->cursor_path)) {
		snprintf(err, errlen, "[source.%s]: state_dir too long",
			 cfg->name);
		free(s);
		return NULL;
	}
	text = malloc(BC_SOURCE_CURSOR_MAX);
	if (text == NULL) {
		snprintf(err, errlen, "[source.%s]: out of memory", cfg->name);
		free(s);
		return NULL;
	}
	have = bc_source_cursor_load(s, text, BC_SOURCE_CURSOR_MAX);
	if (have < 0) {
		snprintf(err, errlen, "[source.%s]: %s", s->name, s->err);
		free(text);
		free(s);
		return NULL;
	}
	switch (s->type) {
	case BC_SRC_FILE:
		rc = bc_source_file_open(s, text, have);
		break;
	case BC_SRC_JOURNAL:
		rc = bc_source_journal_open(s, text, have);
		break;
	case BC_SRC_STDIN:
	default: {
		int fl = fcntl(0, F_GETFL);

		if (fl < 0 || fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0) {
			bc_source_seterr(s, "stdin: %s", strerror(errno));
			rc = -1;
			break;
		}
		s->cur.fd = 0;
		rc = 0;
		break;
	}
	}
	free(text);
	if (rc < 0) {
		snprintf(err, errlen, "[source.%s]: %s", s->name, s->err);
		bc_source_close(&s);
		return NULL;
	}
	s->err[0] = '\0';
	return s;
}

int bc_source_fd(const struct bc_source *s)
{
	switch (s->type) {
	case BC_SRC_FILE:
		return s->ino_fd;
	case BC_SRC_JOURNAL:
		return s->jfd;
	case BC_SRC_STDIN:
	default:
		return s->eof ? -1 : 0;
	}
}

int bc_source_timeout_ms(const struct bc_source *s)
{
	if (s->more)
		return 0;
	switch (s->type) {
	case BC_SRC_FILE:
		return bc_source_file_timeout(s);
	case BC_SRC_JOURNAL:
		return bc_source_journal_timeout(s);
	case BC_SRC_STDIN:
	default:
		return BC_SOURCE_CHECK_MS; /* POLLIN is enough; a read costs
					    * one EAGAIN */
	}
}

/* stdin: read what is there; at EOF hand out a last unterminated line. */
static long stdin_read(struct bc_source *s, bc_source_line_fn fn, void *arg,
		      size_t max)
{
	size_t budget = BC_SOURCE_READ_BUDGET;
	long n;

	if (s->eof)
		return 0;
	n = bc_tail_pump(s, &s->cur, fn, arg, max, &budget);
	if (n >= 0 && s->cur.at_eof && !s->more) {
		size_t before = (size_t)s->stats.lines;

		bc_tail_flush_partial(s, &s->cur, fn, arg);
		n += (long)((size_t)s->stats.lines - before);
		s->eof = true;
	}
	return n;
}

long bc_source_read(struct bc_source *s, bc_source_line_fn fn, void *arg,
		    size_t max_lines)
{
	s->more = false;
	if (max_lines == 0)
		return 0;
	switch (s->type) {
	case BC_SRC_FILE:
		return bc_source_file_read(s, fn, arg, max_lines);
	case BC_SRC_JOURNAL:
		return bc_source_journal_read(s, fn, arg, max_lines);
	case BC_SRC_STDIN:
	default:
		return stdin_read(s, fn, arg, max_lines);
	}
}

int bc_source_save(struct bc_source *s)
{
	if (s->cursor_path[0] == '\0')
		return 0;
	switch (s->type) {
	case BC_SRC_FILE:
		return bc_source_file_save(s);
	case BC_SRC_JOURNAL:
		return bc_source_journal_save(s);
	case BC_SRC_STDIN:
	default:
		return 0;
	}
}

bool bc_source_eof(const struct bc_source *s)
{
	return s->eof;
}

const char *bc_source_error(const struct bc_source *s)
{
	return s->err;
}

const char *bc_source_notice(const struct bc_source *s)
{
	return s->notice;
}

const struct bc_source_stats *bc_source_stats(const struct bc_source *s)
{
	return &s->stats;
}

void bc_source_close(struct bc_source **sp)
{
	struct bc_source *s = *sp;

	if (s == NULL)
		return;
	switch (s->type) {
	case BC_SRC_FILE:
		bc_source_file_close(s);
		break;
	case BC_SRC_JOURNAL:
		bc_source_journal_close(s);
		break;
	case BC_SRC_STDIN:
	default:
		break; /* fd 0 is not ours to close */
	}
	free(s);
	*sp = NULL;
}
