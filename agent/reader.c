/*
 * reader.c - the agent's reader process (reader.h): its loop over the
 * sources, the local report socket and the signer's commands, on its own
 * context (struct bc_agent_reader) alone.
 *
 * Untrusted: every log line and every local report. Lines go to the
 * parsers (logparse/), reports to bc_local_parse (proto/localmsg.h); the
 * excerpt sent with an event is escaped and cut here. It runs without
 * capabilities, as the unprivileged user, with no key in memory. Writes
 * to the signer block when the signer is busy: that is the back-pressure
 * that keeps log lines in the files rather than in memory. A command
 * from the signer that is not exactly one of reader.h's records ends the
 * process (exit 2); a source that fails to read is a warning.
 */
#include "reader.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/local.h"
#include "agent/source.h"
#include "common/clock.h"
#include "common/log.h"

#define STATS_MS 5000
/*
 * After a read that produced events, wait (up to this long) for the
 * signer to report them acknowledged before reading on: then the cursor
 * is saved exactly past them, and a restart neither loses nor repeats an
 * event. A coordinator that does not answer in time does not stop the
 * reader: local defence goes on, and only a restart during such an
 * outage may count lines twice.
 */
#define ACK_WAIT_MS 1000

struct rd {
	struct bc_agent_reader *ctx;
	int fd;
	uint64_t seq;
	bool waiting;        /* events sent, their acknowledgement not yet */
	int64_t wait_since;
	struct bc_evmsg m;
	struct bc_trim trim;  /* freed heap back after a burst */
	uint64_t lines_seen;
};

static uint64_t lines(const struct bc_agent_reader *ctx, uint64_t *overlong)
{
	uint64_t n = 0;
	size_t i;

	*overlong = 0;
	for (i = 0; i < ctx->nsources; i++)
		if (ctx->src[i] != NULL) {
			n += bc_source_stats(ctx->src[i])->lines;
			*overlong += bc_source_stats(ctx->src[i])->overlong;
		}
	return n;
}

static void send_msg(struct rd *r, const struct bc_event *e, const char *line,
		     size_t len)
{
	memset(&r->m, 0, sizeof(r->m));
	r->m.magic = BC_EV_MAGIC;
	if (e != NULL) {
		r->m.ev = *e;
		r->m.seq = ++r->seq;
		bc_escape(r->m.line, sizeof(r->m.line), line, len);
		r->m.len = (uint16_t)strlen(r->m.line);
	} else {
		r->m.seq = r->seq;
	}
	r->m.lines = lines(r->ctx, &r->m.overlong);
	for (;;) {
		if (send(r->fd, &r->m, sizeof(r->m), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(r->m))
			return;
		if (errno != EINTR)
			_exit(0); /* the signer is gone */
	}
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct rd *r = arg;
	struct bc_parser *p = r->ctx->parser[r->ctx->cur];
	struct bc_event e;

	if (bc_parser_feed(p, line, len, &e) == BC_PARSE_MATCH)
		send_msg(r, &e, line, len);
	while (bc_parser_flush(p, 0, &e) == 1)
		send_msg(r, &e, line, len);
}

static void on_local(struct rd *r)
{
	int i;

	for (i = 0; i < 64; i++) {
		char msg[BC_LOCAL_MSG_MAX + 1], err[160], reply[200];
		struct sockaddr_un from;
		socklen_t flen = sizeof(from);
		struct bc_event ev;
		ssize_t n;

		n = recvfrom(r->ctx->local_fd, msg, sizeof(msg), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		if (bc_local_parse(msg, (size_t)n, &ev, err, sizeof(err)) < 0) {
			snprintf(reply, sizeof(reply), "error: %s", err);
		} else {
			char line[BC_LOCAL_MSG_MAX + 16];
			int ll = snprintf(line, sizeof(line), "local report: %.*s",
					  (int)n, msg);

			send_msg(r, &ev, line, ll > 0 ? (size_t)ll : 0);
			snprintf(reply, sizeof(reply), "ok");
		}
		if (flen > sizeof(sa_family_t))
			sendto(r->ctx->local_fd, reply, strlen(reply), MSG_DONTWAIT,
			       (struct sockaddr *)&from, flen);
	}
}

static void read_one(struct rd *r, size_t i)
{
	struct bc_agent_reader *ctx = r->ctx;
	uint64_t before = r->seq;

	if (ctx->src[i] == NULL || r->waiting)
		return;
	ctx->cur = i;
	if (bc_source_read(ctx->src[i], on_line, r, BC_AGENT_READ_BURST) < 0)
		bc_warn("source %s: %s", ctx->sources[i].name,
			bc_source_error(ctx->src[i]));
	ctx->next_read_ms[i] = bc_mono_ms() + bc_source_timeout_ms(ctx->src[i]);
	if (r->seq != before) {
		r->waiting = true;
		r->wait_since = bc_mono_ms();
	}
	if (bc_source_eof(ctx->src[i])) {
		bc_info("source %s: end of input", ctx->sources[i].name);
		bc_source_close(&ctx->src[i]);
	}
}

static void save_all(struct bc_agent_reader *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nsources; i++)
		if (ctx->src[i] != NULL && bc_source_save(ctx->src[i]) < 0)
			bc_warn("source %s: %s", ctx->sources[i].name,
				bc_source_error(ctx->src[i]));
}

void bc_reader_serve(struct bc_agent_reader *ctx, int fd)
{
	struct rd r;
	int64_t next_stats = 0;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.fd = fd;
	/* the signer says when to stop, after the last save */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		struct pollfd pf[BC_AGENT_MAX_SOURCES + 2];
		size_t map[BC_AGENT_MAX_SOURCES], ns = 0, k;
		int64_t now = bc_mono_ms(), wait = 1000;

		pf[0].fd = fd;
		pf[0].events = POLLIN;
		pf[1].fd = ctx->local_fd;
		pf[1].events = POLLIN;
		if (r.waiting && now - r.wait_since >= ACK_WAIT_MS)
			r.waiting = false; /* no answer in time: read on */
		if (r.waiting)
			wait = r.wait_since + ACK_WAIT_MS - now;
		for (k = 0; k < ctx->nsources && !r.waiting; k++) {
			if (ctx->src[k] == NULL)
				continue;
			if (ctx->next_read_ms[k] - now < wait)
				wait = ctx->next_read_ms[k] - now;
			if (bc_source_fd(ctx->src[k]) < 0)
				continue;
			pf[2 + ns].fd = bc_source_fd(ctx->src[k]);
			pf[2 + ns].events = POLLIN;
			map[ns++] = k;
		}
		if (poll(pf, 2 + ns, wait > 0 ? (int)wait : 0) < 0 && errno != EINTR)
			_exit(1);
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			static union {
				struct bc_rdcmd c;
				struct bc_rddetect d;
			} u;
			struct bc_rdcmd c;
			ssize_t n = recv(fd, &u, sizeof(u), MSG_DONTWAIT);

			if (n == (ssize_t)sizeof(u.d) && u.d.magic == BC_RD_MAGIC &&
			    u.d.type == BC_RD_DETECT) {
				for (k = 0; k < ctx->nsources; k++)
					if (ctx->parser[k] != NULL &&
					    bc_parser_set_detect(ctx->parser[k],
								 &u.d.detect) < 0)
						_exit(2);
				continue;
			}
			c = u.c;
			if (n == 0)
				_exit(0); /* the signer is gone */
			if (n > 0) {
				if (n != (ssize_t)sizeof(c) || c.magic != BC_RD_MAGIC)
					_exit(2);
				if (c.type == BC_RD_SAVE && c.seq == r.seq) {
					save_all(ctx);
					r.waiting = false;
				}
				else if (c.type == BC_RD_QUIT)
					_exit(0);
				else if (c.type != BC_RD_SAVE)
					_exit(2);
			}
		}
		if (pf[1].revents & POLLIN)
			on_local(&r);
		for (k = 0; k < ns; k++)
			if (pf[2 + k].revents & POLLIN)
				read_one(&r, map[k]);
		now = bc_mono_ms();
		for (k = 0; k < ctx->nsources && !r.waiting; k++)
			if (ctx->src[k] != NULL && now >= ctx->next_read_ms[k])
				read_one(&r, k);
		if (now >= next_stats) {
			send_msg(&r, NULL, NULL, 0);
			next_stats = now + STATS_MS;
		}
		{
			uint64_t overlong, seen = lines(ctx, &overlong);

			bc_trim_tick(&r.trim, seen != r.lines_seen || r.waiting,
				     now);
			r.lines_seen = seen;
		}
	}
}
