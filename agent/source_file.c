/*
 * source_file.c - type = file: an inotify-driven tail that follows the
 * configured path through rotation (rename + create, delete + re-create,
 * copytruncate, a symlink naming another file) and persists a cursor.
 *
 * Input: the log file's bytes (untrusted, cut into lines by source.c),
 * the directory listing next to it (names are only compared with the
 * file's own name, then checked by device, inode and first-line hash),
 * and the cursor file in the directory the source was opened with (the
 * agent's <state_dir>/cursors; trusted, written by us, parsed
 * strictly). The rules are described in source.h.
 *
 * Ownership: the source owns the inotify fd, its watches, the current
 * file (s->cur) and the draining old files (s->old[], heap, oldest
 * first). Errors are returned as -1 with s->err set.
 */
#define BC_SOURCE_INTERNAL
#include "agent/source.h"
#include "common/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define CURSOR_MAGIC "bancluster-source-cursor 1 file"
#define DIR_MASK                                                              \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |                \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
#define INOTIFY_BUF 4096

/* Hash the first line (or first BC_SOURCE_HASH_MAX bytes) of fd.
 * Returns the length hashed, 0 while the first line is incomplete. */
static size_t first_line(int fd, uint8_t hash[BC_SOURCE_HASH_BYTES])
{
	char b[BC_SOURCE_HASH_MAX];
	ssize_t r = pread(fd, b, sizeof(b), 0);
	const char *nl;
	size_t n;

	if (r <= 0)
		return 0;
	nl = memchr(b, '\n', (size_t)r);
	if (nl != NULL)
		n = (size_t)(nl - b) + 1;
	else if ((size_t)r == sizeof(b))
		n = sizeof(b);
	else
		return 0;
	crypto_generichash(hash, BC_SOURCE_HASH_BYTES, (const uint8_t *)b, n,
			   NULL, 0);
	return n;
}

/* Does fd still start with the hlen bytes whose hash we know? */
static bool same_start(int fd, size_t hlen, const uint8_t *hash)
{
	char b[BC_SOURCE_HASH_MAX];
	uint8_t h[BC_SOURCE_HASH_BYTES];

	if (hlen == 0)
		return true;
	if (pread(fd, b, hlen, 0) != (ssize_t)hlen)
		return false;
	crypto_generichash(h, sizeof(h), (const uint8_t *)b, hlen, NULL, 0);
	return sodium_memcmp(h, hash, sizeof(h)) == 0;
}

/* Learn the file's first-line hash once it is complete. */
static void tail_hash(struct bc_tail *t)
{
	if (t->fd >= 0 && t->hlen == 0)
		t->hlen = first_line(t->fd, t->hash);
}

/* Watch the open file itself (by its fd, so the inode is certain). */
static void watch_file(struct bc_source *s, struct bc_tail *t)
{
	char p[64];

	/* Without /proc there is no watch: appends are then seen by the
	 * periodic check. (Watching by path could watch another inode.) */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", t->fd);
	t->wd = inotify_add_watch(s->ino_fd, p, FILE_MASK);
}

/* Close a tail's file and watch. */
static void tail_close(struct bc_source *s, struct bc_tail *t)
{
	if (t->wd >= 0)
		(void)inotify_rm_watch(s->ino_fd, t->wd);
	if (t->fd >= 0)
		close(t->fd);
	bc_tail_init(t);
}

/*
 * Open path for t (a regular file; if want is given, only that inode).
 * 0 = opened, -1 = not there or not the one wanted (t unchanged).
 */
static int tail_open(struct bc_source *s, struct bc_tail *t, const char *path,
		     const struct stat *want)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (want != NULL &&
	     (st.st_dev != want->st_dev || st.st_ino != want->st_ino))) {
		close(fd);
		return -1;
	}
	bc_tail_init(t);
	t->fd = fd;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->active_ms = bc_mono_ms();
	watch_file(s, t);
	tail_hash(t);
	return 0;
}

/* Position t at off (a line start). */
static int tail_seek(struct bc_source *s, struct bc_tail *t, uint64_t off,
		     bool skipping)
{
	if (lseek(t->fd, (off_t)off, SEEK_SET) < 0) {
		bc_source_seterr(s, "%s: lseek: %s", s->path, strerror(errno));
		return -1;
	}
	bc_tail_reset(t, off);
	t->skipping = skipping;
	return 0;
}

/* First ever start: after the last complete line of the file. */
static int tail_seek_end(struct bc_source *s, struct bc_tail *t)
{
	char b[BC_PARSE_LINE_MAX + 2];
	struct stat st;
	uint64_t from;
	ssize_t r;

	if (fstat(t->fd, &st) < 0) {
		bc_source_seterr(s, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (st.st_size == 0)
		return tail_seek(s, t, 0, false);
	from = (uint64_t)st.st_size > sizeof(b) ? (uint64_t)st.st_size - sizeof(b)
						: 0;
	r = pread(t->fd, b, sizeof(b), (off_t)from);
	if (r < 0) {
		bc_source_seterr(s, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	while (r > 0 && b[r - 1] != '\n')
		r--;
	if (r > 0)
		return tail_seek(s, t, from + (uint64_t)r, false);
	if (from == 0)
		return tail_seek(s, t, 0, false); /* one unfinished line */
	/* inside an over-long line: drop the rest of it */
	return tail_seek(s, t, (uint64_t)st.st_size, true);
}

/* A new heap slot at the end of the old-file list, or NULL. */
static struct bc_tail *old_push(struct bc_source *s)
{
	struct bc_tail *t;

	if (s->nold == BC_SOURCE_OLD_MAX)
		return NULL;
	t = malloc(sizeof(*t));
	if (t == NULL)
		return NULL;
	bc_tail_init(t);
	s->old[s->nold++] = t;
	return t;
}

/* Drop the last pushed slot (its open failed). */
static void old_pop(struct bc_source *s)
{
	free(s->old[--s->nold]);
	s->old[s->nold] = NULL;
}

/* Close and remove old file i. */
static void old_remove(struct bc_source *s, size_t i)
{
	tail_close(s, s->old[i]);
	free(s->old[i]);
	memmove(&s->old[i], &s->old[i + 1],
		(s->nold - i - 1) * sizeof(s->old[0]));
	s->old[--s->nold] = NULL;
}

/* Is inode (dev, ino) already open as the current or an old file? */
static bool is_open(const struct bc_source *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (s->cur.fd >= 0 && s->cur.dev == dev && s->cur.ino == ino)
		return true;
	for (i = 0; i < s->nold; i++)
		if (s->old[i]->dev == dev && s->old[i]->ino == ino)
			return true;
	return false;
}

/* Copy the directory part of p into dir and the last name into base. */
static void split_path(const char *p, char *dir, size_t dlen, char *base,
		       size_t blen)
{
	const char *slash = strrchr(p, '/');

	if (slash == NULL) {
		snprintf(dir, dlen, ".");
		snprintf(base, blen, "%s", p);
	} else if (slash == p) {
		snprintf(dir, dlen, "/");
		snprintf(base, blen, "%s", slash + 1);
	} else {
		snprintf(dir, dlen, "%.*s", (int)(slash - p), p);
		snprintf(base, blen, "%s", slash + 1);
	}
}

/* A rotated sibling's name: BASE.* or BASE-*, not compressed. */
static bool sibling_name(const char *name, const char *base)
{
	static const char *const zext[] = {".gz", ".xz", ".bz2", ".zst",
					   ".lz4", ".Z", NULL};
	size_t bl = strlen(base), nl = strlen(name);
	size_t i;

	if (bl == 0 || nl <= bl + 1 || strncmp(name, base, bl) != 0 ||
	    (name[bl] != '.' && name[bl] != '-'))
		return false;
	for (i = 0; zext[i] != NULL; i++) {
		size_t el = strlen(zext[i]);

		if (nl > el && strcmp(name + nl - el, zext[i]) == 0)
			return false;
	}
	return true;
}

/* What find_sibling looks for. */
struct want {
	bool by_inode;          /* else: a copy (same start, longer than off) */
	const struct bc_fcursor *c;
};

/* Look in one directory; returns an open fd (st filled) or -1. */
static int find_in_dir(struct bc_source *s, const char *dir, const char *base,
		       const struct want *w, struct stat *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0, fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && seen++ < BC_SOURCE_SCAN_MAX &&
	       (e = readdir(d)) != NULL) {
		if (!sibling_name(e->d_name, base))
			continue;
		if (fstatat(dirfd(d), e->d_name, st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st->st_mode))
			continue;
		if (w->by_inode) {
			if (st->st_dev != w->c->dev || st->st_ino != w->c->ino)
				continue;
		} else if (is_open(s, st->st_dev, st->st_ino) ||
			   (uint64_t)st->st_size <= w->c->off) {
			continue;
		}
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
		    !same_start(fd, w->c->hlen, w->c->hash) ||
		    (w->by_inode && (st->st_dev != w->c->dev ||
				     st->st_ino != w->c->ino))) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	return fd;
}

/*
 * Find a rotated-away file next to the path (and next to its resolved
 * target) and open it as a new old slot reading from c->off.
 */
static void find_sibling(struct bc_source *s, const struct bc_fcursor *c,
			 bool by_inode)
{
	char dirs[2][PATH_MAX], bases[2][PATH_MAX];
	struct want w = {by_inode, c};
	struct bc_tail *t;
	struct stat st;
	size_t i, n = 1;
	int fd = -1;

	if (!by_inode && c->hlen == 0)
		return; /* a copy is only recognised by its first line */
	split_path(s->path, dirs[0], sizeof(dirs[0]), bases[0],
		   sizeof(bases[0]));
	if (s->resolved[0] != '\0' && strcmp(s->resolved, s->path) != 0) {
		split_path(s->resolved, dirs[1], sizeof(dirs[1]), bases[1],
			   sizeof(bases[1]));
		n = 2;
	}
	for (i = 0; i < n && fd < 0; i++)
		fd = find_in_dir(s, dirs[i], bases[i], &w, &st);
	if (fd < 0)
		return;
	if (is_open(s, st.st_dev, st.st_ino) || (t = old_push(s)) == NULL) {
		close(fd);
		return;
	}
	t->fd = fd;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->hlen = c->hlen;
	memcpy(t->hash, c->hash, sizeof(t->hash));
	t->active_ms = bc_mono_ms();
	if ((uint64_t)st.st_size < c->off ||
	    tail_seek(s, t, c->off, false) < 0) {
		close(fd);
		t->fd = -1;
		old_pop(s);
		return;
	}
	watch_file(s, t);
}

/* (Re)place the directory watches after the path resolved anew. */
static void watch_dirs(struct bc_source *s)
{
	char dir[PATH_MAX], base[PATH_MAX];

	if (s->dwd[0] >= 0)
		(void)inotify_rm_watch(s->ino_fd, s->dwd[0]);
	if (s->dwd[1] >= 0 && s->dwd[1] != s->dwd[0])
		(void)inotify_rm_watch(s->ino_fd, s->dwd[1]);
	s->dwd[0] = s->dwd[1] = -1;
	split_path(s->path, dir, sizeof(dir), base, sizeof(base));
	s->dwd[0] = inotify_add_watch(s->ino_fd, dir, DIR_MASK);
	if (s->resolved[0] != '\0') {
		split_path(s->resolved, dir, sizeof(dir), base, sizeof(base));
		s->dwd[1] = inotify_add_watch(s->ino_fd, dir, DIR_MASK);
	}
}

/* Re-resolve the path; move the directory watches if it changed. */
static void resolve(struct bc_source *s)
{
	char rp[PATH_MAX];

	if (realpath(s->path, rp) != NULL) {
		if (strcmp(rp, s->resolved) != 0) {
			snprintf(s->resolved, sizeof(s->resolved), "%s", rp);
			watch_dirs(s);
			return;
		}
	}
	if (s->dwd[0] < 0 || (s->resolved[0] != '\0' && s->dwd[1] < 0))
		watch_dirs(s);
}

/*
 * The current file shrank or its first line changed: read the rest from
 * its copy if one is next to it, and the file itself from offset 0.
 */
static void truncated(struct bc_source *s)
{
	struct bc_fcursor c;

	s->stats.truncations++;
	c.valid = true;
	c.dev = s->cur.dev;
	c.ino = s->cur.ino;
	c.off = s->cur.off;
	c.hlen = s->cur.hlen;
	memcpy(c.hash, s->cur.hash, sizeof(c.hash));
	find_sibling(s, &c, false);
	(void)lseek(s->cur.fd, 0, SEEK_SET);
	bc_tail_reset(&s->cur, 0);
	s->cur.hlen = 0;
	s->cur.active_ms = bc_mono_ms();
	s->more = true; /* the copy's lines come first, on the next read */
}

/*
 * The path names the file st. With no current file, it becomes the
 * current one; otherwise the current file joins the draining old ones
 * (a rotation) and st is followed from its start - or, if st is an old
 * file still draining (a symlink flipped back), from where it was.
 */
static void follow(struct bc_source *s, const struct stat *st)
{
	bool had = s->cur.fd >= 0;
	struct bc_tail *t;
	size_t i;

	for (i = 0; i < s->nold; i++) {
		if (s->old[i]->dev != st->st_dev ||
		    s->old[i]->ino != st->st_ino)
			continue;
		t = s->old[i];
		if (had) {
			struct bc_tail *tmp = malloc(sizeof(*tmp));

			if (tmp == NULL)
				return;
			memcpy(tmp, &s->cur, sizeof(*tmp));
			memcpy(&s->cur, t, sizeof(*t));
			memcpy(t, tmp, sizeof(*t));
			free(tmp);
			t->active_ms = bc_mono_ms();
			s->stats.rotations++;
		} else {
			memcpy(&s->cur, t, sizeof(*t));
			free(t);
			memmove(&s->old[i], &s->old[i + 1],
				(s->nold - i - 1) * sizeof(s->old[0]));
			s->old[--s->nold] = NULL;
		}
		return;
	}
	if (!had) {
		if (tail_open(s, &s->cur, s->path, st) == 0)
			(void)tail_seek(s, &s->cur, 0, false);
		return;
	}
	t = old_push(s);
	if (t == NULL)
		return; /* all slots busy: switch once an old file is done */
	memcpy(t, &s->cur, sizeof(*t));
	t->active_ms = bc_mono_ms();
	if (tail_open(s, &s->cur, s->path, st) < 0 ||
	    tail_seek(s, &s->cur, 0, false) < 0) {
		if (s->cur.fd >= 0)
			tail_close(s, &s->cur);
		memcpy(&s->cur, t, sizeof(*t)); /* replaced again: retry */
		old_pop(s);
		return;
	}
	s->stats.rotations++;
}

/* Look at the path: a new file, a rotation, a truncation. */
static void check(struct bc_source *s)
{
	struct stat st;

	resolve(s);
	if (stat(s->path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (s->cur.fd < 0 || st.st_dev != s->cur.dev ||
	     st.st_ino != s->cur.ino))
		follow(s, &st);
	if (s->cur.fd >= 0 && s->cur.hlen > 0 &&
	    !same_start(s->cur.fd, s->cur.hlen, s->cur.hash))
		truncated(s);
}

/* Drain the inotify queue; note whether a rotation check is due. */
static void drain_inotify(struct bc_source *s)
{
	_Alignas(struct inotify_event) char buf[INOTIFY_BUF];

	for (;;) {
		ssize_t r = read(s->ino_fd, buf, sizeof(buf));
		size_t i = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		while (i + sizeof(struct inotify_event) <= (size_t)r) {
			const struct inotify_event *ev =
				(const struct inotify_event *)(buf + i);

			if (ev->wd == s->dwd[0] || ev->wd == s->dwd[1] ||
			    (ev->mask & (IN_Q_OVERFLOW | IN_ATTRIB |
					 IN_MOVE_SELF | IN_DELETE_SELF |
					 IN_IGNORED)))
				s->need_check = true;
			if (ev->mask & IN_IGNORED) {
				/* a watched directory went away */
				if (ev->wd == s->dwd[0])
					s->dwd[0] = -1;
				if (ev->wd == s->dwd[1])
					s->dwd[1] = -1;
			}
			i += sizeof(struct inotify_event) + ev->len;
		}
	}
}

/* Has the current file got any data (proof the writer moved to it)? */
static bool cur_has_data(const struct bc_source *s)
{
	struct stat st;

	if (s->cur.fd < 0)
		return false;
	return s->cur.roff > 0 || (fstat(s->cur.fd, &st) == 0 && st.st_size > 0);
}

/* Close old files that are done: read to the end and idle long enough. */
static void retire_old(struct bc_source *s, bc_source_line_fn fn, void *arg,
		       long *n, size_t max)
{
	int64_t now = bc_mono_ms();
	size_t i = 0;

	while (i < s->nold) {
		struct bc_tail *t = s->old[i];
		int64_t idle = now - t->active_ms;

		if (t->at_eof &&
		    (idle >= BC_SOURCE_OLD_LINGER_MS ||
		     (idle >= BC_SOURCE_OLD_IDLE_MS &&
		      (i + 1 < s->nold || cur_has_data(s))))) {
			uint64_t before = s->stats.lines;
			size_t budget = BC_SOURCE_READ_BUDGET;
			int64_t act = t->active_ms;

			/* a last look, so nothing written since is lost */
			if ((size_t)*n >= max ||
			    bc_tail_pump(s, t, fn, arg, max - (size_t)*n,
					 &budget) < 0 ||
			    t->active_ms != act || !t->at_eof) {
				*n += (long)(s->stats.lines - before);
				i++;
				continue;
			}
			bc_tail_flush_partial(s, t, fn, arg);
			*n += (long)(s->stats.lines - before);
			old_remove(s, i);
			continue;
		}
		i++;
	}
}

/*
 * Read the old files (oldest first), then the current one. 1 = all were
 * read to their end, 0 = stopped early (max, budget, an old file not
 * done), -1 = error.
 */
static int pump_all(struct bc_source *s, bc_source_line_fn fn, void *arg,
		    size_t max, long *n, size_t *budget)
{
	struct stat st;
	long r;
	size_t i;

	if ((size_t)*n >= max) {
		s->more = true;
		return 0;
	}
	for (i = 0; i < s->nold; i++) {
		r = bc_tail_pump(s, s->old[i], fn, arg, max - (size_t)*n,
				 budget);
		if (r < 0)
			return -1;
		*n += r;
		if (!s->old[i]->at_eof)
			return 0; /* older lines first */
	}
	if (s->cur.fd < 0)
		return 1;
	r = bc_tail_pump(s, &s->cur, fn, arg, max - (size_t)*n, budget);
	if (r < 0)
		return -1;
	*n += r;
	tail_hash(&s->cur);
	if (!s->cur.at_eof)
		return 0;
	if (fstat(s->cur.fd, &st) == 0 && (uint64_t)st.st_size < s->cur.roff) {
		truncated(s);
		return 0;
	}
	return 1;
}

long bc_source_file_read(struct bc_source *s, bc_source_line_fn fn,
			 void *arg, size_t max)
{
	size_t budget = BC_SOURCE_READ_BUDGET;
	int64_t now = bc_mono_ms();
	long n = 0;
	int done;

	drain_inotify(s);
	if (s->need_check || now >= s->next_check_ms) {
		s->need_check = false;
		s->next_check_ms = now + BC_SOURCE_CHECK_MS;
		if (s->nold == BC_SOURCE_OLD_MAX && s->old[0]->at_eof) {
			/* rotating faster than old files go idle: give up
			 * the oldest once it is read to its end */
			uint64_t before = s->stats.lines;

			if (bc_tail_pump(s, s->old[0], fn, arg, max, &budget) < 0)
				return -1;
			if (s->old[0]->at_eof) {
				bc_tail_flush_partial(s, s->old[0], fn, arg);
				old_remove(s, 0);
			}
			n += (long)(s->stats.lines - before);
		}
		check(s); /* before reading: a truncation must be seen first */
	}
	done = pump_all(s, fn, arg, max, &n, &budget);
	if (done < 0)
		return -1;
	if (done == 1 && (size_t)n < max)
		retire_old(s, fn, arg, &n, max);
	return n;
}

/* Parse "DEV INO OFF HLEN HEX|-" into c. */
static int parse_fcursor(char *p, struct bc_fcursor *c)
{
	unsigned long long v[4];
	char *end;
	size_t i, binlen;
	const char *hexend;

	for (i = 0; i < 4; i++) {
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno != 0 || *end != ' ')
			return -1;
		p = end + 1;
	}
	if (v[3] > BC_SOURCE_HASH_MAX || v[2] > (unsigned long long)INT64_MAX)
		return -1;
	c->valid = true;
	c->dev = (dev_t)v[0];
	c->ino = (ino_t)v[1];
	c->off = v[2];
	c->hlen = (size_t)v[3];
	memset(c->hash, 0, sizeof(c->hash));
	if (strcmp(p, "-") == 0)
		return c->hlen == 0 ? 0 : -1;
	if (c->hlen == 0 || strlen(p) != 2 * BC_SOURCE_HASH_BYTES ||
	    sodium_hex2bin(c->hash, sizeof(c->hash), p, strlen(p), NULL,
			   &binlen, &hexend) != 0 ||
	    binlen != sizeof(c->hash) || *hexend != '\0')
		return -1;
	return 0;
}

/* Parse a whole cursor file. */
static int parse_cursor(struct bc_source *s, char *text, struct bc_fcursor *cur,
			struct bc_fcursor *old, size_t *nold)
{
	char *line = text, *nl;
	int lineno = 0;
	bool have_cur = false;

	*nold = 0;
	memset(cur, 0, sizeof(*cur));
	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL)
			goto bad;
		*nl = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, CURSOR_MAGIC) != 0)
				goto bad;
		} else if (strcmp(line, "cur -") == 0 && !have_cur) {
			have_cur = true;
		} else if (strncmp(line, "cur ", 4) == 0 && !have_cur) {
			if (parse_fcursor(line + 4, cur) < 0)
				goto bad;
			have_cur = true;
		} else if (strncmp(line, "old ", 4) == 0 && !have_cur &&
			   *nold < BC_SOURCE_OLD_MAX) {
			if (parse_fcursor(line + 4, &old[*nold]) < 0)
				goto bad;
			(*nold)++;
		} else {
			goto bad;
		}
		line = nl + 1;
	}
	if (have_cur)
		return 0;
bad:
	bc_source_seterr(s,
			 "%s: line %d: not a file cursor; remove it to start at the end of %s",
			 s->cursor_path, lineno, s->path);
	return -1;
}

/* Resume from a cursor (see source.h for the cases). */
static int resume(struct bc_source *s, const struct bc_fcursor *cur,
		  const struct bc_fcursor *old, size_t nold)
{
	struct stat st;
	size_t i;
	bool exists = stat(s->path, &st) == 0 && S_ISREG(st.st_mode);
	bool same = exists && cur->valid && st.st_dev == cur->dev &&
		    st.st_ino == cur->ino;

	for (i = 0; i < nold; i++)
		if (!(exists && st.st_dev == old[i].dev &&
		      st.st_ino == old[i].ino))
			find_sibling(s, &old[i], true);
	if (!exists || tail_open(s, &s->cur, s->path, &st) < 0) {
		if (cur->valid)
			find_sibling(s, cur, true);
		return 0; /* read the path from its start when it appears */
	}
	if (!same || !same_start(s->cur.fd, cur->hlen, cur->hash)) {
		/* rotated while we were down (renamed, or copied and the
		 * file truncated and written again): finish the old one */
		if (cur->valid) {
			size_t n = s->nold;

			find_sibling(s, cur, true);
			if (s->nold == n && cur->hlen > 0)
				find_sibling(s, cur, false);
		}
		return tail_seek(s, &s->cur, 0, false);
	}
	/* our file: resume, or it was truncated while we were down */
	s->cur.hlen = cur->hlen;
	memcpy(s->cur.hash, cur->hash, sizeof(s->cur.hash));
	if ((uint64_t)st.st_size >= cur->off)
		return tail_seek(s, &s->cur, cur->off, false);
	s->cur.off = s->cur.roff = cur->off;
	truncated(s);
	return 0;
}

int bc_source_file_open(struct bc_source *s, const char *text, int have)
{
	struct bc_fcursor cur, old[BC_SOURCE_OLD_MAX];
	size_t nold = 0;
	char *copy = NULL;

	if (s->path[0] == '\0') {
		bc_source_seterr(s, "path: missing");
		return -1;
	}
	if (have) {
		copy = strdup(text);
		if (copy == NULL) {
			bc_source_seterr(s, "out of memory");
			return -1;
		}
		if (parse_cursor(s, copy, &cur, old, &nold) < 0) {
			free(copy);
			return -1;
		}
		free(copy);
	}
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd < 0) {
		bc_source_seterr(s, "inotify_init1: %s", strerror(errno));
		return -1;
	}
	resolve(s);
	s->next_check_ms = bc_mono_ms() + BC_SOURCE_CHECK_MS;
	if (have)
		return resume(s, &cur, old, nold);
	if (tail_open(s, &s->cur, s->path, NULL) < 0)
		return 0; /* not there yet: read it from its start later */
	return tail_seek_end(s, &s->cur);
}

/* Append "DEV INO OFF HLEN HEX" for t to buf. */
static size_t fmt_tail(char *buf, size_t cap, const char *tag,
		       const struct bc_tail *t)
{
	char hex[2 * BC_SOURCE_HASH_BYTES + 1];
	int n;

	if (t->hlen > 0)
		sodium_bin2hex(hex, sizeof(hex), t->hash, sizeof(t->hash));
	else
		snprintf(hex, sizeof(hex), "-");
	n = snprintf(buf, cap, "%s %ju %ju %" PRIu64 " %zu %s\n", tag,
		     (uintmax_t)t->dev, (uintmax_t)t->ino, t->off, t->hlen,
		     hex);
	return n < 0 || (size_t)n >= cap ? cap : (size_t)n;
}

int bc_source_file_save(struct bc_source *s)
{
	char buf[BC_SOURCE_CURSOR_MAX];
	size_t len, i;

	len = (size_t)snprintf(buf, sizeof(buf), "%s\n", CURSOR_MAGIC);
	for (i = 0; i < s->nold; i++)
		len += fmt_tail(buf + len, sizeof(buf) - len, "old", s->old[i]);
	if (s->cur.fd >= 0)
		len += fmt_tail(buf + len, sizeof(buf) - len, "cur", &s->cur);
	else
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "cur -\n");
	if (len >= sizeof(buf)) {
		bc_source_seterr(s, "%s: cursor too long", s->cursor_path);
		return -1;
	}
	return bc_source_cursor_store(s, buf, len);
}

int bc_source_file_timeout(const struct bc_source *s)
{
	int64_t left = s->next_check_ms - bc_mono_ms();

	if (s->need_check || left <= 0)
		return 0;
	return left > BC_SOURCE_CHECK_MS ? BC_SOURCE_CHECK_MS : (int)left;
}

void bc_source_file_close(struct bc_source *s)
{
	while (s->nold > 0)
		old_remove(s, s->nold - 1);
	tail_close(s, &s->cur);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	s->ino_fd = -1;
}
