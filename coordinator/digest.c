/*
 * digest.c - e-mail digest of new fleet bans (digest.h).
 *
 * fail2ban had remote-code-execution bugs in its mail actions, where
 * attacker text reached a shell (peers.md section 4). Here the program is
 * run with execv and a fixed argv; the message goes through a pipe; every
 * field that came from a report or an admin is made printable and cut.
 *
 * The loop's thread owns struct bc_digest (filled by bc_digest_add, one
 * line per new ban up to BC_DIGEST_MAX_LINES, then only counted). Errors
 * come back from bc_digest_flush as -1 + err (the caller logs them): a
 * sendmail that could not be started, or the previous one that exited
 * non-zero (reaped without waiting, never with -1).
 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

void bc_digest_add(struct bc_digest *d, const struct bc_ban *b,
		   const char *origin, const char *reason)
{
	struct bc_digest_line *l;

	if (d->n == BC_DIGEST_MAX_LINES) {
		d->more++;
		return;
	}
	l = &d->v[d->n++];
	l->addr = b->addr;
	l->expires_ms = b->expires_ms;
	bc_printable(l->origin, sizeof(l->origin), origin, strlen(origin));
	bc_printable(l->reason, sizeof(l->reason), reason, strlen(reason));
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

int bc_digest_flush(struct bc_digest *d, const char *sendmail, const char *to,
		    const char *cluster, int64_t interval_ms, int64_t now_mono,
		    char *err, size_t errlen)
{
	char *body;
	size_t cap = 4096 + (size_t)BC_DIGEST_MAX_LINES * 256, o = 0, i;
	int pfd[2], st;
	pid_t pid;
	ssize_t w;

	if (d->child > 0 && waitpid(d->child, &st, WNOHANG) == d->child) {
		d->child = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			d->failed++;
			snprintf(err, errlen, "%s exited with %s %d: digest not sent",
				 sendmail, WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			return -1;
		}
	}
	if (d->n == 0 || now_mono < d->next_ms || d->child > 0)
		return 0;
	body = malloc(cap);
	if (body == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o += (size_t)snprintf(body + o, cap - o,
			      "To: %s\nSubject: bancluster %s: %zu new fleet ban%s\n"
			      "Auto-Submitted: auto-generated\n\n",
			      to, cluster, d->n + (size_t)d->more,
			      d->n + d->more == 1 ? "" : "s");
	for (i = 0; i < d->n && o < cap; i++) {
		char a[BC_ADDR_STRLEN], t[32];

		if (d->v[i].expires_ms)
			fmt_time(d->v[i].expires_ms, t, sizeof(t));
		else
			snprintf(t, sizeof(t), "permanent");
		o += (size_t)snprintf(body + o, cap - o, "%-40s until %-20s %s  %s\n",
				      bc_addr_format(&d->v[i].addr, a, sizeof(a)), t,
				      d->v[i].origin, d->v[i].reason);
	}
	if (d->more > 0 && o < cap)
		o += (size_t)snprintf(body + o, cap - o, "... and %llu more: bancluster list\n",
				      (unsigned long long)d->more);
	if (o >= cap)
		o = cap - 1;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(body);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(body);
		return -1;
	}
	if (pid == 0) {
		char *const argv[] = {(char *)"sendmail", (char *)"-oi", (char *)"--",
				      (char *)to, NULL};

		signal(SIGPIPE, SIG_DFL);
		if (dup2(pfd[0], STDIN_FILENO) < 0)
			_exit(127);
		execv(sendmail, argv);
		_exit(127);
	}
	close(pfd[0]);
	w = write(pfd[1], body, o); /* < 64 KiB: fits the pipe buffer */
	close(pfd[1]);
	free(body);
	d->child = (int)pid;
	d->next_ms = now_mono + interval_ms;
	d->sent++;
	d->n = 0;
	d->more = 0;
	if (w != (ssize_t)o) {
		snprintf(err, errlen, "%s: short write", sendmail);
		return -1;
	}
	return 1;
}
