/*
 * test_source.c - log sources: the file tail through rotation, truncation,
 * deletion and symlink changes, cursor persistence across restarts,
 * partial and over-long lines, stdin through a pipe, and the journal
 * source on real journal files made by systemd-journal-remote.
 *
 * Every case works in its own mkdtemp directory under /tmp, removed at
 * the end. Run from the repository root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logparse/parse.h"
#include "agent/source.h"
#include "tests/unit/tap.h"

#define JREMOTE "/lib/systemd/systemd-journal-remote"
#define MAXL 256

/* Lines collected from a source, kept as one string joined by '|'. */
struct col {
	char text[65536];
	size_t len;
	size_t n;
	size_t maxlen; /* longest line seen */
};

static void on_line(void *arg, const char *line, size_t len)
{
	struct col *c = arg;

	if (len > c->maxlen)
		c->maxlen = len;
	c->n++;
	if (c->len + len + 2 >= sizeof(c->text))
		return;
	if (c->len > 0)
		c->text[c->len++] = '|';
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len] = '\0';
}

/* Read everything available into a fresh collector. */
static long drain(struct bc_source *s, struct col *c)
{
	long total = 0, r;
	int rounds = 0;

	memset(c, 0, sizeof(*c));
	do {
		r = bc_source_read(s, on_line, c, 1000);
		if (r < 0)
			return -1;
		total += r;
	} while ((r > 0 || bc_source_timeout_ms(s) == 0) && ++rounds < 1000);
	return total;
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	if (fd >= 0)
		close(fd);
}

static void put(const char *path, const char *text)
{
	unlink(path);
	append(path, text);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static void cfg_make(struct bc_source_cfg *cfg, const char *name,
		     const char *type, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	snprintf(cfg->type, sizeof(cfg->type), "%s", type);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	snprintf(cfg->format, sizeof(cfg->format), "auto");
}

static struct bc_source *open_src(const char *type, const char *path,
				  const char *state)
{
	struct bc_source_cfg cfg;
	char err[256] = "";
	struct bc_source *s;

	cfg_make(&cfg, "mail", type, path);
	s = bc_source_open(&cfg, state, err, sizeof(err));
	if (s == NULL)
		printf("# open %s: %s\n", path, err);
	return s;
}

/* A scratch directory with a state/ subdirectory. */
struct tmp {
	char dir[64];
	char state[96];
	char log[96];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/bc-src.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(t->state, sizeof(t->state), "%s/state", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/mail.log", t->dir);
	mkdir(t->state, 0700);
}

static void tmp_free(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", t->dir);
}

static void test_first_start_and_append(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	struct pollfd pfd;

	tmp_make(&t);
	put(t.log, "old1\nold2\npart");
	s = open_src("file", t.log, t.state);
	CHECK(s != NULL, "file: open");
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 0, "first start: nothing old is delivered");
	CHECK(bc_source_fd(s) >= 0, "file: inotify fd");
	append(t.log, "ial\nnew1\r\nnew2\n");
	pfd.fd = bc_source_fd(s);
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 2000) == 1, "append wakes the poll loop");
	CHECK(drain(s, &c) == 3 &&
		      strcmp(c.text, "partial|new1|new2") == 0,
	      "first start at the end of the last complete line: '%s'", c.text);
	append(t.log, "hel");
	CHECK(drain(s, &c) == 0, "partial line is held back");
	append(t.log, "lo");
	CHECK(drain(s, &c) == 0, "still partial");
	append(t.log, " world\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "hello world") == 0,
	      "partial line completed: '%s'", c.text);
	CHECK(bc_source_stats(s)->lines == 4, "stats.lines = 4");
	CHECK(bc_source_timeout_ms(s) > 0 &&
		      bc_source_timeout_ms(s) <= BC_SOURCE_CHECK_MS,
	      "timeout within the check interval");
	bc_source_close(&s);
	CHECK(s == NULL, "close sets the pointer to NULL");
	tmp_free(&t);
}

static void test_max_lines(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	long r;

	tmp_make(&t);
	put(t.log, "");
	s = open_src("file", t.log, NULL);
	if (s == NULL)
		return;
	append(t.log, "1\n2\n3\n4\n5\n");
	memset(&c, 0, sizeof(c));
	r = bc_source_read(s, on_line, &c, 2);
	CHECK(r == 2 && strcmp(c.text, "1|2") == 0, "max_lines bounds a read");
	CHECK(bc_source_timeout_ms(s) == 0, "timeout 0 while lines wait");
	r = bc_source_read(s, on_line, &c, 100);
	CHECK(r == 3 && strcmp(c.text, "1|2|3|4|5") == 0,
	      "the rest on the next read: '%s'", c.text);
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_restart(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char cur[128];
	struct stat st;

	tmp_make(&t);
	put(t.log, "a\n");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	append(t.log, "b\nc\npar");
	CHECK(drain(s, &c) == 2, "restart: read before");
	CHECK(bc_source_save(s) == 0, "save: %s", bc_source_error(s));
	snprintf(cur, sizeof(cur), "%s/source-mail.cursor", t.state);
	CHECK(stat(cur, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "cursor file state/source-mail.cursor, mode 0600");
	bc_source_close(&s);
	append(t.log, "tial\nd1\nd2\n"); /* written while down */
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 3 && strcmp(c.text, "partial|d1|d2") == 0,
	      "restart resumes exactly: '%s'", c.text);
	CHECK(bc_source_save(s) == 0, "save again");
	bc_source_close(&s);
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 0, "restart without new lines delivers nothing");
	append(t.log, "e\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "e") == 0, "then tails");
	append(t.log, "f\n");
	bc_source_close(&s); /* closed without saving: "f" comes again */

	/* rotated while down: the old file is finished, then the new one */
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "e|f") == 0,
	      "unsaved lines are delivered again: '%s'", c.text);
	CHECK(bc_source_save(s) == 0, "save before rotation");
	bc_source_close(&s);
	{
		char old[128];

		snprintf(old, sizeof(old), "%s.1", t.log);
		append(t.log, "x1\nx2\n");
		rename(t.log, old);
		put(t.log, "y1\n");
	}
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 3 && strcmp(c.text, "x1|x2|y1") == 0,
	      "rotated while down: old file finished from the cursor: '%s'",
	      c.text);
	CHECK(bc_source_save(s) == 0, "save after");
	bc_source_close(&s);

	/* rotated while down and the old file is gone: the new file whole */
	{
		char old[128];

		snprintf(old, sizeof(old), "%s.1", t.log);
		append(t.log, "lost\n");
		unlink(old);
		rename(t.log, old);
		unlink(old);
		put(t.log, "z1\nz2\n");
	}
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "z1|z2") == 0,
	      "old file gone: new file from its start: '%s'", c.text);
	CHECK(bc_source_save(s) == 0, "save");
	bc_source_close(&s);

	/* truncated while down, copy next to it */
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(bc_source_save(s) == 0, "save before copytruncate");
	bc_source_close(&s);
	{
		char cmd[512];

		append(t.log, "w1\n");
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s.1' && : > '%s'",
			 t.log, t.log, t.log);
		CHECK(system(cmd) == 0, "copytruncate while down");
		append(t.log, "v1\n");
	}
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "w1|v1") == 0,
	      "truncated while down: rest from the copy, then the file: '%s'",
	      c.text);
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_rotate_rename(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char old[128];
	int fds;

	tmp_make(&t);
	snprintf(old, sizeof(old), "%s.1", t.log);
	put(t.log, "");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	fds = count_fds();
	append(t.log, "a1\n");
	CHECK(drain(s, &c) == 1, "rename: before");
	CHECK(rename(t.log, old) == 0, "rename mail.log -> mail.log.1");
	append(old, "a2\n"); /* the writer has not reopened yet */
	put(t.log, "b1\n");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "a2|b1") == 0,
	      "rename + create: late old line, then the new file: '%s'",
	      c.text);
	append(old, "a3\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "a3") == 0,
	      "old file still drained: '%s'", c.text);
	append(t.log, "b2\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "b2") == 0, "new file tails");
	CHECK(bc_source_stats(s)->rotations == 1, "one rotation counted");
	CHECK(count_fds() == fds + 1, "old file open while draining");
	sleep_ms(BC_SOURCE_OLD_IDLE_MS + 200);
	CHECK(drain(s, &c) == 0, "nothing more");
	CHECK(count_fds() == fds, "old file closed once idle");
	/* a second rotation in the other direction, without a read between */
	CHECK(rename(t.log, old) == 0, "rotate again");
	put(t.log, "c1\n");
	append(old, "b3\n");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "b3|c1") == 0,
	      "second rotation: '%s'", c.text);
	bc_source_close(&s);
	CHECK(count_fds() == fds - 2, "close releases inotify and files");
	tmp_free(&t);
}

static void test_restart_draining(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char old[128], cur[128], text[1024];
	FILE *f;
	size_t n = 0;

	tmp_make(&t);
	snprintf(old, sizeof(old), "%s.1", t.log);
	snprintf(cur, sizeof(cur), "%s/source-mail.cursor", t.state);
	put(t.log, "");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	append(t.log, "a1\n");
	CHECK(drain(s, &c) == 1, "draining: before");
	rename(t.log, old);
	put(t.log, "b1\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "b1") == 0, "rotated");
	CHECK(bc_source_save(s) == 0, "save while the old file drains");
	bc_source_close(&s);
	f = fopen(cur, "r");
	if (f != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	CHECK(strncmp(text, "bancluster-source-cursor 1 file\nold ", 36) == 0 &&
		      strstr(text, "\ncur ") != NULL,
	      "cursor holds the draining file and the current one");
	append(old, "a2\n"); /* the writer was late, the agent down */
	append(t.log, "b2\n");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "a2|b2") == 0,
	      "restart finishes the draining file first: '%s'", c.text);
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_copytruncate(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char cmd[512];

	tmp_make(&t);
	put(t.log, "");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	append(t.log, "c1\nc2\n");
	CHECK(drain(s, &c) == 2, "copytruncate: before");
	append(t.log, "c3\n"); /* not read before the copy */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.1' && : > '%s'", t.log, t.log,
		 t.log);
	CHECK(system(cmd) == 0, "cp + truncate");
	append(t.log, "d1\n");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "c3|d1") == 0,
	      "copytruncate: unread line from the copy, then the file: '%s'",
	      c.text);
	CHECK(bc_source_stats(s)->truncations == 1, "one truncation counted");
	/* truncated and regrown past the old size before we look */
	snprintf(cmd, sizeof(cmd), ": > '%s'", t.log);
	CHECK(system(cmd) == 0, "truncate");
	append(t.log, "different first line, longer than before\nd2\n");
	sleep_ms(BC_SOURCE_CHECK_MS + 100);
	CHECK(drain(s, &c) == 2 &&
		      strcmp(c.text,
			     "different first line, longer than before|d2") == 0,
	      "truncate + regrow found by the first-line hash: '%s'", c.text);
	CHECK(bc_source_stats(s)->truncations == 2, "two truncations");
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_delete_recreate(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	int w;

	tmp_make(&t);
	put(t.log, "");
	s = open_src("file", t.log, t.state);
	if (s == NULL)
		return;
	w = open(t.log, O_WRONLY | O_APPEND);
	CHECK(write(w, "e1\n", 3) == 3, "write e1");
	CHECK(drain(s, &c) == 1, "delete: before");
	unlink(t.log);
	CHECK(write(w, "e2\n", 3) == 3, "writer writes to the deleted file");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "e2") == 0,
	      "deleted file still read: '%s'", c.text);
	put(t.log, "f1\n");
	CHECK(write(w, "e3\n", 3) == 3, "and once more");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "e3|f1") == 0,
	      "delete + re-create: '%s'", c.text);
	close(w);
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_symlink(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char a[128], b[128], link[128], tmpl[128];

	tmp_make(&t);
	snprintf(a, sizeof(a), "%s/a", t.dir);
	mkdir(a, 0755);
	snprintf(b, sizeof(b), "%s/b", t.dir);
	mkdir(b, 0755);
	snprintf(a, sizeof(a), "%s/a/one.log", t.dir);
	snprintf(b, sizeof(b), "%s/b/two.log", t.dir);
	snprintf(link, sizeof(link), "%s/current.log", t.dir);
	snprintf(tmpl, sizeof(tmpl), "%s/current.tmp", t.dir);
	put(a, "s0\n");
	CHECK(symlink(a, link) == 0, "symlink current.log -> a/one.log");
	s = open_src("file", link, t.state);
	if (s == NULL)
		return;
	append(a, "s1\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "s1") == 0,
	      "through the symlink: '%s'", c.text);
	put(b, "t1\n");
	CHECK(symlink(b, tmpl) == 0 && rename(tmpl, link) == 0,
	      "symlink replaced: -> b/two.log");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "t1") == 0,
	      "new target read from its start: '%s'", c.text);
	append(b, "t2\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "t2") == 0,
	      "new target tailed: '%s'", c.text);
	/* the target file itself rotated in its own directory */
	{
		char b1[140];

		snprintf(b1, sizeof(b1), "%s.1", b);
		rename(b, b1);
		put(b, "u1\n");
	}
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "u1") == 0,
	      "target rotated behind the symlink: '%s'", c.text);
	CHECK(bc_source_stats(s)->rotations == 2, "two rotations");
	CHECK(bc_source_save(s) == 0, "save");
	bc_source_close(&s);
	append(b, "u2\n");
	s = open_src("file", link, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "u2") == 0,
	      "restart through the symlink: '%s'", c.text);
	bc_source_close(&s);
	tmp_free(&t);
}

static void test_overlong(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char *big = malloc(3 * BC_PARSE_LINE_MAX + 2);
	size_t i;

	tmp_make(&t);
	put(t.log, "");
	s = open_src("file", t.log, NULL);
	if (s == NULL || big == NULL)
		return;
	/* exactly the cap: delivered */
	for (i = 0; i < BC_PARSE_LINE_MAX; i++)
		big[i] = 'x';
	big[i++] = '\n';
	big[i] = '\0';
	append(t.log, big);
	CHECK(drain(s, &c) == 1 && c.maxlen == BC_PARSE_LINE_MAX,
	      "line of exactly %d bytes delivered", BC_PARSE_LINE_MAX);
	/* cap + 1: skipped */
	big[BC_PARSE_LINE_MAX] = 'y';
	big[BC_PARSE_LINE_MAX + 1] = '\n';
	big[BC_PARSE_LINE_MAX + 2] = '\0';
	append(t.log, big);
	append(t.log, "after1\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "after1") == 0,
	      "line of cap+1 bytes skipped, next line intact");
	CHECK(bc_source_stats(s)->overlong == 1, "overlong counted once");
	/* a 24 KiB line arriving in pieces, read in between */
	for (i = 0; i < 3 * BC_PARSE_LINE_MAX; i++)
		big[i] = 'z';
	big[i] = '\0';
	append(t.log, "before\n");
	append(t.log, big);
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "before") == 0,
	      "over-long partial line is not delivered");
	append(t.log, big);
	append(t.log, "tail-of-long\nafter2\n");
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "after2") == 0,
	      "over-long line skipped up to its newline: '%s'", c.text);
	CHECK(bc_source_stats(s)->overlong == 2, "overlong = 2");
	CHECK(c.maxlen <= BC_PARSE_LINE_MAX, "nothing over the cap delivered");
	bc_source_close(&s);
	free(big);
	tmp_free(&t);
}

static void test_late_file_and_bad_cursor(void)
{
	struct tmp t;
	struct bc_source *s;
	struct bc_source_cfg cfg;
	struct col c;
	char cur[128], err[256] = "";

	tmp_make(&t);
	s = open_src("file", t.log, t.state);
	CHECK(s != NULL, "open before the file exists");
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 0, "nothing yet");
	put(t.log, "born1\nborn2\n");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "born1|born2") == 0,
	      "a file that appears later is read from its start: '%s'",
	      c.text);
	bc_source_close(&s);
	snprintf(cur, sizeof(cur), "%s/source-mail.cursor", t.state);
	put(cur, "bancluster-source-cursor 1 file\ncur 1 2 x 0 -\n");
	cfg_make(&cfg, "mail", "file", t.log);
	s = bc_source_open(&cfg, t.state, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "source-mail.cursor") != NULL &&
		      strstr(err, "line 2") != NULL,
	      "damaged cursor refused: %s", err);
	bc_source_close(&s);
	cfg_make(&cfg, "mail", "socket", t.log);
	s = bc_source_open(&cfg, t.state, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "type") != NULL, "bad type: %s", err);
	tmp_free(&t);
}

static void test_fd_leak_file(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	int before, i;
	char old[128];

	tmp_make(&t);
	snprintf(old, sizeof(old), "%s.1", t.log);
	put(t.log, "x\n");
	before = count_fds();
	for (i = 0; i < 50; i++) {
		s = open_src("file", t.log, t.state);
		if (s == NULL)
			break;
		append(t.log, "y\n");
		rename(t.log, old);
		put(t.log, "z\n");
		(void)drain(s, &c);
		(void)bc_source_save(s);
		bc_source_close(&s);
	}
	CHECK(count_fds() == before, "file: no fd leak after 50 reopens");
	tmp_free(&t);
}

static void test_stdin(void)
{
	struct bc_source *s;
	struct col c;
	int p[2], saved;

	if (pipe(p) < 0)
		return;
	saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	s = open_src("stdin", "", NULL);
	CHECK(s != NULL && bc_source_fd(s) == 0, "stdin: fd 0");
	if (s == NULL)
		return;
	CHECK(write(p[1], "i1\ni2\npart", 10) == 10, "write to the pipe");
	CHECK(drain(s, &c) == 2 && strcmp(c.text, "i1|i2") == 0,
	      "stdin lines: '%s'", c.text);
	CHECK(!bc_source_eof(s), "not at EOF while the pipe is open");
	CHECK(bc_source_timeout_ms(s) > 0, "stdin timeout is positive");
	CHECK(bc_source_read(s, on_line, &c, 10) == 0,
	      "non-blocking: no data, no wait");
	close(p[1]);
	CHECK(drain(s, &c) == 1 && strcmp(c.text, "part") == 0,
	      "last unterminated line delivered at EOF: '%s'", c.text);
	CHECK(bc_source_eof(s), "EOF flag");
	CHECK(bc_source_fd(s) == -1, "no fd to poll after EOF");
	CHECK(bc_source_save(s) == 0, "save is a no-op");
	bc_source_close(&s);
	dup2(saved, 0);
	close(saved);
}

/* Append export-format entries to DIR/x.journal with journal-remote. */
static int jwrite(const char *dir, const char *export_text)
{
	char ex[128], cmd[512];

	snprintf(ex, sizeof(ex), "%s/in.export", dir);
	put(ex, export_text);
	snprintf(cmd, sizeof(cmd), "%s --output='%s/j/x.journal' '%s' 2>/dev/null",
		 JREMOTE, dir, ex);
	return system(cmd);
}

static const char jentry1[] =
	"__REALTIME_TIMESTAMP=1700000000123456\n"
	"__MONOTONIC_TIMESTAMP=1000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx1\n"
	"SYSLOG_IDENTIFIER=postfix/smtpd\n"
	"SYSLOG_FACILITY=2\n"
	"_PID=4242\n"
	"MESSAGE=warning: unknown[192.0.2.7]: SASL LOGIN authentication "
	"failed: UGFzc3dvcmQ6\n"
	"\n"
	"__REALTIME_TIMESTAMP=1700000001000000\n"
	"__MONOTONIC_TIMESTAMP=2000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx1\n"
	"SYSLOG_IDENTIFIER=cron\n"
	"SYSLOG_FACILITY=9\n"
	"_PID=1\n"
	"MESSAGE=not mail\n"
	"\n"
	"__REALTIME_TIMESTAMP=1700000002000001\n"
	"__MONOTONIC_TIMESTAMP=3000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx 1\n"
	"SYSLOG_IDENTIFIER=dovecot\n"
	"MESSAGE=tab\there\n"
	"\n";

static const char jentry2[] =
	"__REALTIME_TIMESTAMP=1700000003000000\n"
	"__MONOTONIC_TIMESTAMP=4000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx1\n"
	"SYSLOG_IDENTIFIER=mx-in/smtpd\n"
	"SYSLOG_FACILITY=2\n"
	"SYSLOG_PID=99\n"
	"MESSAGE=custom syslog_name via facility mail\n"
	"\n"
	"__REALTIME_TIMESTAMP=1700000004000000\n"
	"__MONOTONIC_TIMESTAMP=5000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx1\n"
	"SYSLOG_IDENTIFIER=exim4\n"
	"_PID=5\n"
	"MESSAGE=second batch\n"
	"\n";

static const char jentry3[] =
	"__REALTIME_TIMESTAMP=1700000005000000\n"
	"__MONOTONIC_TIMESTAMP=6000\n"
	"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
	"_HOSTNAME=mx2\n"
	"SYSLOG_IDENTIFIER=sm-mta\n"
	"_PID=6\n"
	"MESSAGE=rotated\n"
	"\n";

static void test_journal(void)
{
	struct tmp t;
	struct bc_source *s;
	struct col c;
	char jdir[128], jfile[160];
	struct bc_parser *p;
	struct bc_event ev;
	int before, i;
	const char *nl;

	if (access(JREMOTE, X_OK) != 0) {
		CHECK(0, "journal: %s missing (make deps)", JREMOTE);
		return;
	}
	tmp_make(&t);
	snprintf(jdir, sizeof(jdir), "%s/j", t.dir);
	snprintf(jfile, sizeof(jfile), "%s/x.journal", jdir);
	mkdir(jdir, 0755);

	/* a directory, empty at the first start: entries that come later */
	s = open_src("journal", jdir, t.state);
	CHECK(s != NULL, "journal: open an empty directory");
	if (s == NULL)
		return;
	CHECK(bc_source_fd(s) >= 0, "journal fd");
	CHECK(drain(s, &c) == 0, "journal: nothing yet");
	CHECK(jwrite(t.dir, jentry1) == 0, "journal-remote writes x.journal");
	CHECK(drain(s, &c) == 2, "journal: two mail entries of three: %zu",
	      c.n);
	nl = strchr(c.text, '|');
	CHECK(nl != NULL &&
		      strncmp(c.text,
			      "2023-11-14T22:13:20.123456+00:00 mx1 "
			      "postfix/smtpd[4242]: warning: unknown[192.0.2.7]: "
			      "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
			      (size_t)(nl - c.text)) == 0,
	      "journal line in rsyslog form: '%s'", c.text);
	CHECK(nl != NULL &&
		      strcmp(nl + 1, "2023-11-14T22:13:22.000001+00:00 mx_1 "
				     "dovecot: tab#011here") == 0,
	      "host sanitised, no pid, control byte escaped: '%s'",
	      nl ? nl + 1 : "");
	p = bc_parser_new(BC_FMT_AUTO);
	CHECK(p != NULL && nl != NULL &&
		      bc_parser_feed(p, c.text, (size_t)(nl - c.text), &ev) ==
			      BC_PARSE_MATCH &&
		      ev.kind == BC_KIND_AUTH_FAIL,
	      "the parser reads the journal line as auth_fail");
	bc_parser_free(&p);
	CHECK(bc_source_save(s) == 0, "journal save: %s", bc_source_error(s));
	bc_source_close(&s);

	/* reopen with the cursor: only what was added meanwhile */
	CHECK(jwrite(t.dir, jentry2) == 0, "append while down");
	s = open_src("journal", jfile, t.state);
	CHECK(s != NULL, "journal: open a file");
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 2 &&
		      strcmp(c.text,
			     "2023-11-14T22:13:23.000000+00:00 mx1 mx-in/smtpd[99]: "
			     "custom syslog_name via facility mail|"
			     "2023-11-14T22:13:24.000000+00:00 mx1 exim4[5]: "
			     "second batch") == 0,
	      "cursor resumes after the last entry: '%s'", c.text);
	CHECK(bc_source_save(s) == 0, "save");
	bc_source_close(&s);
	s = open_src("journal", jfile, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 0, "nothing twice after a reopen");
	bc_source_close(&s);

	/* journal rotation in a directory: a new file appears, the old one
	 * is deleted; its descriptor must go */
	s = open_src("journal", jdir, t.state);
	if (s == NULL)
		return;
	CHECK(drain(s, &c) == 0, "directory reopened at the cursor");
	before = count_fds();
	{
		char ex[128], cmd[512];

		snprintf(ex, sizeof(ex), "%s/in.export", t.dir);
		put(ex, jentry3);
		snprintf(cmd, sizeof(cmd),
			 "%s --output='%s/y.journal' '%s' 2>/dev/null", JREMOTE,
			 jdir, ex);
		CHECK(system(cmd) == 0, "journal-remote writes y.journal");
		unlink(jfile);
	}
	CHECK(drain(s, &c) == 1 &&
		      strcmp(c.text, "2023-11-14T22:13:25.000000+00:00 mx2 "
				     "sm-mta[6]: rotated") == 0,
	      "entry of the new journal file: '%s'", c.text);
	CHECK(count_fds() <= before, "deleted journal file closed (%d -> %d)",
	      before, count_fds());
	CHECK(bc_source_save(s) == 0, "save");
	bc_source_close(&s);
	snprintf(jfile, sizeof(jfile), "%s/y.journal", jdir);

	/* first start on a file with entries: begins after them */
	s = open_src("journal", jfile, NULL);
	CHECK(s != NULL && drain(s, &c) == 0,
	      "journal first start begins after the last entry");
	bc_source_close(&s);

	before = count_fds();
	for (i = 0; i < 50; i++) {
		s = open_src("journal", jdir, t.state);
		if (s == NULL)
			break;
		(void)drain(s, &c);
		(void)bc_source_save(s);
		bc_source_close(&s);
	}
	CHECK(count_fds() == before, "journal: no fd leak after 50 reopens");

	/* a journal that does not exist */
	{
		struct bc_source_cfg cfg;
		char err[256] = "";

		cfg_make(&cfg, "mail", "journal", "/nonexistent/j");
		s = bc_source_open(&cfg, NULL, err, sizeof(err));
		CHECK(s == NULL && strstr(err, "/nonexistent/j") != NULL,
		      "missing journal path: %s", err);
	}
	tmp_free(&t);
}

#define STRESS_LINES 20000
#define STRESS_ROTATE 2500 /* lines per file */
#define STRESS_RESTART 3000 /* lines between reader restarts */

/* Count "n=NUMBER" lines. */
struct seen {
	unsigned char *count;
	size_t total, bad;
};

static void on_num(void *arg, const char *line, size_t len)
{
	struct seen *sn = arg;
	char b[32];
	long v;

	if (len < 3 || len >= sizeof(b) || memcmp(line, "n=", 2) != 0) {
		sn->bad++;
		return;
	}
	memcpy(b, line + 2, len - 2);
	b[len - 2] = '\0';
	v = strtol(b, NULL, 10);
	if (v < 0 || v >= STRESS_LINES) {
		sn->bad++;
		return;
	}
	if (sn->count[v] < 255)
		sn->count[v]++;
	sn->total++;
}

/* The writer: numbered lines, rename + create every STRESS_ROTATE lines,
 * a few lines into the renamed file before reopening, like a daemon that
 * gets its HUP a little late. */
static void stress_writer(const char *log, const char *old)
{
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
	int i;
	char b[32];

	for (i = 0; i < STRESS_LINES && fd >= 0; i++) {
		int n = snprintf(b, sizeof(b), "n=%d\n", i);

		if (write(fd, b, (size_t)n) != n)
			_exit(2);
		if (i % STRESS_ROTATE == STRESS_ROTATE - 4)
			rename(log, old);
		if (i % STRESS_ROTATE == STRESS_ROTATE - 1) {
			close(fd);
			fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
		}
		if (i % 100 == 0)
			sleep_ms(12);
	}
	_exit(fd >= 0 ? 0 : 3);
}

static void test_stress(void)
{
	struct tmp t;
	struct bc_source *s;
	struct seen sn = {0};
	char old[128];
	size_t since = 0, i, dup = 0, miss = 0;
	int restarts = 0, status = -1;
	pid_t pid;
	int64_t deadline;
	struct timespec ts;

	tmp_make(&t);
	snprintf(old, sizeof(old), "%s.1", t.log);
	put(t.log, "");
	sn.count = calloc(STRESS_LINES, 1);
	s = open_src("file", t.log, t.state);
	if (s == NULL || sn.count == NULL)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		stress_writer(t.log, old);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + 30;
	while (sn.total < STRESS_LINES && ts.tv_sec < deadline) {
		struct pollfd pfd = {bc_source_fd(s), POLLIN, 0};
		size_t before = sn.total;
		long r;

		(void)poll(&pfd, 1, bc_source_timeout_ms(s));
		r = bc_source_read(s, on_num, &sn, 500);
		if (r < 0 || bc_source_save(s) < 0) {
			printf("# %s\n", bc_source_error(s));
			break;
		}
		since += sn.total - before;
		if (since >= STRESS_RESTART) {
			bc_source_close(&s);
			s = open_src("file", t.log, t.state);
			if (s == NULL)
				break;
			restarts++;
			since = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
	}
	waitpid(pid, &status, 0);
	for (i = 0; i < STRESS_LINES; i++) {
		if (sn.count[i] == 0)
			miss++;
		else if (sn.count[i] > 1)
			dup++;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stress writer ran");
	CHECK(miss == 0 && dup == 0 && sn.bad == 0,
	      "%d lines through %d rotations and %d restarts: %zu missing, "
	      "%zu twice, %zu garbled",
	      STRESS_LINES, STRESS_LINES / STRESS_ROTATE, restarts, miss, dup,
	      sn.bad);
	CHECK(restarts >= 5, "reader restarted %d times while lines were written",
	      restarts);
	bc_source_close(&s);
	free(sn.count);
	tmp_free(&t);
}

int main(void)
{
	test_first_start_and_append();
	test_max_lines();
	test_restart();
	test_rotate_rename();
	test_restart_draining();
	test_copytruncate();
	test_delete_recreate();
	test_symlink();
	test_overlong();
	test_late_file_and_bad_cursor();
	test_fd_leak_file();
	test_stress();
	test_stdin();
	test_journal();
	return tap_done();
}
