/*
 * hooks.c - on_ban / on_unban programs and the webhook (hooks.h).
 *
 * Inputs: the committed change (trusted: made by the coordinator; the
 * reason of a manual ban is an admin's text, the evidence of rule bans
 * never reaches here), the configuration (trusted), and the webhook
 * receiver's answers (untrusted: only the status code is read, the body
 * is discarded).
 *
 * Programs: posix_spawn (execve, no shell) with a fixed argv of our own
 * making (path, "ban"/"unban", the address), a fixed environment, stdin
 * a pipe holding the JSON, stdout /dev/null, stderr the coordinator's,
 * every other descriptor closed, signal dispositions reset, and a
 * process group of its own so that a timeout kills what it started too.
 * All of this runs on the loop's thread: fire() queues, poll() starts,
 * reaps (waitpid WNOHANG on the pids it started, never -1: the digest
 * reaps its own child) and kills.
 *
 * Webhook: one thread owns the libcurl multi handle and every transfer.
 * The loop's thread only appends jobs (under the mutex) and wakes it
 * (curl_multi_wakeup); results and log lines come back under the same
 * mutex and are logged by poll() on the loop's thread. This module logs
 * through the caller's function only.
 *
 * The JSON handed to both is made by hook_json.c (bc_hook_json).
 */
#include "hooks.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/version.h"

#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_LOG_BURST 20          /* log lines per second */
#define WEBHOOK_IDLE_MS 1000       /* thread's longest sleep */
#define WHAT_LEN 96                /* "ban 2001:db8::/64 seq 123" */

const char *bc_hook_result_name(enum bc_hook_result r)
{
	static const char *n[] = {"ok", "failed", "timeout", "not_run", "dropped"};

	return (unsigned)r < BC_HOOK_RESULTS ? n[r] : "?";
}

const char *bc_webhook_result_name(enum bc_webhook_result r)
{
	static const char *n[] = {"delivered", "retried", "failed", "dropped"};

	return (unsigned)r < BC_WEBHOOK_RESULTS ? n[r] : "?";
}

/* ---- state ----------------------------------------------------------- */

struct hjob {
	int which; /* 0 on_ban, 1 on_unban */
	char path[BC_CFG_STR_MAX];
	char addr[BC_ADDR_STRLEN];
	char *json;
	size_t len;
};

struct hchild {
	pid_t pid;
	int which;
	int64_t start_ms, deadline_ms;
	bool killed;
	char path[BC_CFG_STR_MAX];
	char addr[BC_ADDR_STRLEN];
};

struct wjob {
	char *body;
	size_t len;
	char url[BC_CFG_STR_MAX];
	char what[WHAT_LEN];
	unsigned attempts, retries;
	int64_t timeout_ms;
	int64_t next_ms; /* monotonic: not before */
	CURL *easy;      /* set while in flight (thread only) */
	struct curl_slist *hdr;
	char errbuf[CURL_ERROR_SIZE];
};

struct bc_hooks {
	struct bc_hooks_cfg cfg;
	bc_hooks_log_fn log;
	void *log_arg;
	int log_budget;
	int64_t log_second;
	uint64_t log_lost;

	/* programs: the loop's thread only */
	struct hjob *hq[BC_HOOK_QUEUE_MAX];
	size_t hq_head, hq_n;
	struct hchild run[BC_HOOK_MAX_MAX];
	size_t nrun;
	uint64_t hstats[2][BC_HOOK_RESULTS];

	/* webhook: shared with the thread under mu */
	pthread_mutex_t mu;
	pthread_t th;
	bool th_started, stop;
	CURLM *multi;
	struct wjob *wq[BC_WEBHOOK_QUEUE_MAX];
	size_t wn;
	size_t wactive; /* thread only */
	uint64_t wstats[BC_WEBHOOK_RESULTS];
	char wlog[BC_HOOK_LOG_MAX][BC_HOOK_LOG_LEN];
	bool wlog_warn[BC_HOOK_LOG_MAX];
	size_t nwlog;
	uint64_t wlog_lost;
};

static void say(struct bc_hooks *h, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct bc_hooks *h, bool warn, const char *fmt, ...)
{
	char msg[BC_HOOK_LOG_LEN + 64];
	int64_t sec = bc_mono_ms() / 1000;
	va_list ap;

	if (sec != h->log_second) {
		h->log_second = sec;
		h->log_budget = HOOK_LOG_BURST;
		if (h->log_lost > 0) {
			snprintf(msg, sizeof(msg),
				 "hooks: %" PRIu64 " log lines suppressed", h->log_lost);
			h->log_lost = 0;
			h->log(h->log_arg, true, msg);
		}
	}
	if (h->log_budget <= 0) {
		h->log_lost++;
		return;
	}
	h->log_budget--;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->log(h->log_arg, warn, msg);
}

/* Thread side: one line for the loop to log (mu held). */
static void wsay(struct bc_hooks *h, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wsay(struct bc_hooks *h, bool warn, const char *fmt, ...)
{
	va_list ap;

	if (h->nwlog >= BC_HOOK_LOG_MAX) {
		h->wlog_lost++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(h->wlog[h->nwlog], BC_HOOK_LOG_LEN, fmt, ap);
	va_end(ap);
	h->wlog_warn[h->nwlog++] = warn;
}

/* ---- webhook thread -------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void wjob_free(struct wjob *j)
{
	if (j == NULL)
		return;
	curl_slist_free_all(j->hdr);
	free(j->body);
	free(j);
}

/* Start one transfer (mu held). Returns 0 or -1 (counted as a failed
 * attempt by the caller). */
static int wstart(struct bc_hooks *h, struct wjob *j)
{
	static char ua[64];
	CURL *e = curl_easy_init();

	if (ua[0] == '\0')
		snprintf(ua, sizeof(ua), "bancluster-coordinator/%s", bc_version());
	if (e == NULL)
		return -1;
	if (j->hdr == NULL) {
		struct curl_slist *s = curl_slist_append(NULL, "Content-Type: application/json");

		if (s != NULL) {
			struct curl_slist *t = curl_slist_append(s, "Expect:");

			if (t == NULL)
				curl_slist_free_all(s);
			j->hdr = t;
		}
		if (j->hdr == NULL) {
			curl_easy_cleanup(e);
			return -1;
		}
	}
	j->errbuf[0] = '\0';
	if (curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdr) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, ua) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, j) != CURLE_OK ||
	    curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -1;
	}
	j->easy = e;
	j->attempts++;
	h->wactive++;
	return 0;
}

static void wremove(struct bc_hooks *h, struct wjob *j)
{
	size_t i;

	for (i = 0; i < h->wn; i++)
		if (h->wq[i] == j) {
			memmove(&h->wq[i], &h->wq[i + 1],
				(h->wn - i - 1) * sizeof(h->wq[0]));
			h->wn--;
			break;
		}
	wjob_free(j);
}

/* One attempt ended (mu held): delivered, retry later, or give up. */
static void wdone(struct bc_hooks *h, struct wjob *j, CURLcode rc, long code,
		  int64_t now)
{
	char why[CURL_ERROR_SIZE + 32];
	bool retry;

	if (rc == CURLE_OK && code >= 200 && code < 300) {
		h->wstats[BC_WEBHOOK_DELIVERED]++;
		if (j->attempts > 1)
			wsay(h, false, "webhook: %s delivered (HTTP %ld) at attempt %u",
			     j->what, code, j->attempts);
		wremove(h, j);
		return;
	}
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s",
			 j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", code);
	/* connection trouble, timeouts, 5xx, 408, 429: the receiver may
	 * take it later; anything else will not change */
	retry = rc != CURLE_OK || code >= 500 || code == 408 || code == 429;
	if (retry && rc == CURLE_UNSUPPORTED_PROTOCOL)
		retry = false;
	if (retry && j->attempts <= j->retries) {
		int64_t wait = BC_WEBHOOK_BACKOFF_MS;
		unsigned k;

		for (k = 1; k < j->attempts && wait < BC_WEBHOOK_BACKOFF_MAX_MS; k++)
			wait *= 2;
		if (wait > BC_WEBHOOK_BACKOFF_MAX_MS)
			wait = BC_WEBHOOK_BACKOFF_MAX_MS;
		j->next_ms = now + wait;
		h->wstats[BC_WEBHOOK_RETRIED]++;
		wsay(h, true, "webhook: %s: %s; retry %u of %u in %" PRId64 " ms",
		     j->what, why, j->attempts, j->retries, wait);
		return;
	}
	h->wstats[BC_WEBHOOK_FAILED]++;
	wsay(h, true, "webhook: %s: %s; given up after %u attempt%s", j->what,
	     why, j->attempts, j->attempts == 1 ? "" : "s");
	wremove(h, j);
}

static void *wthread(void *arg)
{
	struct bc_hooks *h = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the loop's */
	for (;;) {
		int64_t now = bc_mono_ms(), wait = WEBHOOK_IDLE_MS;
		int running = 0, left = 0;
		size_t i;
		CURLMsg *m;

		pthread_mutex_lock(&h->mu);
		if (h->stop) {
			pthread_mutex_unlock(&h->mu);
			break;
		}
		for (i = 0; i < h->wn; i++) {
			struct wjob *j = h->wq[i];

			if (j->easy != NULL)
				continue;
			if (j->next_ms > now) {
				if (j->next_ms - now < wait)
					wait = j->next_ms - now;
				continue;
			}
			if (h->wactive >= BC_WEBHOOK_PARALLEL)
				continue;
			if (wstart(h, j) < 0) {
				j->attempts++;
				wdone(h, j, CURLE_OUT_OF_MEMORY, 0, now);
				i = (size_t)-1; /* the array may have shifted */
			}
		}
		pthread_mutex_unlock(&h->mu);
		curl_multi_perform(h->multi, &running);
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct wjob *j = NULL;
			char *pv = NULL;
			long code = 0;
			CURL *e;
			CURLcode rc;

			if (m->msg != CURLMSG_DONE)
				continue;
			/* m is freed by curl_multi_remove_handle: copy it first */
			e = m->easy_handle;
			rc = m->data.result;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, &pv);
			j = (struct wjob *)(void *)pv;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			pthread_mutex_lock(&h->mu);
			curl_multi_remove_handle(h->multi, e);
			curl_easy_cleanup(e);
			h->wactive--;
			if (j != NULL) {
				j->easy = NULL;
				wdone(h, j, rc, code, bc_mono_ms());
			}
			pthread_mutex_unlock(&h->mu);
		}
		curl_multi_poll(h->multi, NULL, 0, (int)(wait > 0 ? wait : 0), NULL);
	}
	return NULL;
}

static int wthread_start(struct bc_hooks *h, char *err, size_t errlen)
{
	int rc;

	if (h->th_started)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "webhook: libcurl failed to initialise");
		return -1;
	}
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		snprintf(err, errlen, "webhook: out of memory");
		curl_global_cleanup();
		return -1;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)BC_WEBHOOK_PARALLEL);
	rc = pthread_create(&h->th, NULL, wthread, h);
	if (rc != 0) {
		snprintf(err, errlen, "webhook: thread: %s", strerror(rc));
		curl_multi_cleanup(h->multi);
		h->multi = NULL;
		curl_global_cleanup();
		return -1;
	}
	h->th_started = true;
	return 0;
}

/* ---- programs -------------------------------------------------------- */

static const char *hook_name(int which)
{
	return which == 0 ? "on_ban" : "on_unban";
}

static void hjob_free(struct hjob *j)
{
	if (j != NULL)
		free(j->json);
	free(j);
}

static void spawn(struct bc_hooks *h, struct hjob *j, int64_t now)
{
	static const char *action[] = {"ban", "unban"};
	char *argv[] = {j->path, (char *)action[j->which], j->addr, NULL};
	char *envp[] = {(char *)HOOK_PATH, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int pfd[2], rc;
	pid_t pid;
	ssize_t w;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		h->hstats[j->which][BC_HOOK_NOT_RUN]++;
		say(h, true, "%s %s %s: pipe: %s", hook_name(j->which), j->path,
		    j->addr, strerror(errno));
		return;
	}
	sigemptyset(&none);
	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, j->path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[0]);
	if (rc != 0) {
		close(pfd[1]);
		h->hstats[j->which][BC_HOOK_NOT_RUN]++;
		say(h, true, "%s %s %s: cannot run: %s", hook_name(j->which),
		    j->path, j->addr, strerror(rc));
		return;
	}
	/* the JSON (< BC_HOOK_JSON_MAX) fits the pipe's buffer: written at
	 * once whether or not the program reads it */
	fcntl(pfd[1], F_SETFL, O_NONBLOCK);
	w = write(pfd[1], j->json, j->len);
	if (w != (ssize_t)j->len && !(w < 0 && errno == EPIPE))
		say(h, true, "%s %s %s: stdin: %s", hook_name(j->which), j->path,
		    j->addr, w < 0 ? strerror(errno) : "short write");
	close(pfd[1]);
	h->run[h->nrun] = (struct hchild){
		.pid = pid,
		.which = j->which,
		.start_ms = now,
		.deadline_ms = now + h->cfg.hook_timeout_ms,
	};
	snprintf(h->run[h->nrun].path, sizeof(h->run[0].path), "%s", j->path);
	snprintf(h->run[h->nrun].addr, sizeof(h->run[0].addr), "%s", j->addr);
	h->nrun++;
}

static void reap(struct bc_hooks *h, int64_t now)
{
	size_t i = 0;

	while (i < h->nrun) {
		struct hchild *ch = &h->run[i];
		int st = 0;
		pid_t r = waitpid(ch->pid, &st, WNOHANG);

		if (r == 0) {
			if (!ch->killed && now >= ch->deadline_ms) {
				/* the whole process group: what it started too */
				kill(-ch->pid, SIGKILL);
				kill(ch->pid, SIGKILL);
				ch->killed = true;
			}
			i++;
			continue;
		}
		if (r < 0 && errno == EINTR) {
			i++;
			continue;
		}
		if (ch->killed) {
			h->hstats[ch->which][BC_HOOK_TIMEOUT]++;
			say(h, true, "%s %s %s: killed after %" PRId64 " ms (hook_timeout)",
			    hook_name(ch->which), ch->path, ch->addr,
			    now - ch->start_ms);
		} else if (r == ch->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			h->hstats[ch->which][BC_HOOK_OK]++;
		} else {
			h->hstats[ch->which][BC_HOOK_FAILED]++;
			if (r < 0)
				say(h, true, "%s %s %s: lost: %s", hook_name(ch->which),
				    ch->path, ch->addr, strerror(errno));
			else
				say(h, true, "%s %s %s: %s %d", hook_name(ch->which),
				    ch->path, ch->addr,
				    WIFEXITED(st) ? "exit status" : "killed by signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
		h->run[i] = h->run[--h->nrun];
	}
}

/* ---- interface ------------------------------------------------------- */

struct bc_hooks *bc_hooks_new(const struct bc_hooks_cfg *cfg,
			      bc_hooks_log_fn log, void *log_arg, char *err,
			      size_t errlen)
{
	struct bc_hooks *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->log = log;
	h->log_arg = log_arg;
	pthread_mutex_init(&h->mu, NULL);
	if (bc_hooks_set_cfg(h, cfg, err, errlen) < 0) {
		bc_hooks_free(&h);
		return NULL;
	}
	return h;
}

int bc_hooks_set_cfg(struct bc_hooks *h, const struct bc_hooks_cfg *cfg,
		     char *err, size_t errlen)
{
	if (cfg->webhook[0] != '\0' && wthread_start(h, err, errlen) < 0)
		return -1;
	h->cfg = *cfg;
	if (h->cfg.hook_max < 1)
		h->cfg.hook_max = 1;
	if (h->cfg.hook_max > BC_HOOK_MAX_MAX)
		h->cfg.hook_max = BC_HOOK_MAX_MAX;
	return 0;
}

void bc_hooks_fire(struct bc_hooks *h, const struct bc_hook_event *e)
{
	const char *prog = e->remove ? h->cfg.on_unban : h->cfg.on_ban;
	int which = e->remove ? 1 : 0;
	char json[BC_HOOK_JSON_MAX], addr[BC_ADDR_STRLEN];
	size_t len;

	if (prog[0] == '\0' && h->cfg.webhook[0] == '\0')
		return;
	len = bc_hook_json(e, json, sizeof(json));
	bc_addr_format(&e->ban->addr, addr, sizeof(addr));
	if (len == 0) { /* cannot happen with the store's field sizes */
		say(h, true, "hooks: %s %s: JSON over %d bytes, not sent",
		    e->remove ? "unban" : "ban", addr, BC_HOOK_JSON_MAX);
		return;
	}
	if (prog[0] != '\0') {
		struct hjob *j = NULL;

		if (h->hq_n >= BC_HOOK_QUEUE_MAX ||
		    (j = calloc(1, sizeof(*j))) == NULL ||
		    (j->json = malloc(len)) == NULL) {
			hjob_free(j);
			h->hstats[which][BC_HOOK_DROPPED]++;
			say(h, true, "%s queue full (%d): %s not run for %s (%" PRIu64
				     " dropped)", hook_name(which), BC_HOOK_QUEUE_MAX,
			    prog, addr, h->hstats[which][BC_HOOK_DROPPED]);
		} else {
			j->which = which;
			snprintf(j->path, sizeof(j->path), "%s", prog);
			snprintf(j->addr, sizeof(j->addr), "%s", addr);
			memcpy(j->json, json, len);
			j->len = len;
			h->hq[(h->hq_head + h->hq_n++) % BC_HOOK_QUEUE_MAX] = j;
		}
	}
	if (h->cfg.webhook[0] != '\0' && h->th_started) {
		struct wjob *w = calloc(1, sizeof(*w));
		bool queued = false;
		uint64_t dropped = 0;

		if (w != NULL && (w->body = malloc(len)) != NULL) {
			memcpy(w->body, json, len);
			w->len = len;
			snprintf(w->url, sizeof(w->url), "%s", h->cfg.webhook);
			snprintf(w->what, sizeof(w->what), "%s %s seq %" PRIu64,
				 e->remove ? "unban" : "ban", addr, e->seq);
			w->retries = h->cfg.webhook_retries;
			w->timeout_ms = h->cfg.webhook_timeout_ms;
			pthread_mutex_lock(&h->mu);
			if (h->wn < BC_WEBHOOK_QUEUE_MAX) {
				h->wq[h->wn++] = w;
				queued = true;
			} else {
				dropped = ++h->wstats[BC_WEBHOOK_DROPPED];
			}
			pthread_mutex_unlock(&h->mu);
		} else {
			pthread_mutex_lock(&h->mu);
			dropped = ++h->wstats[BC_WEBHOOK_DROPPED];
			pthread_mutex_unlock(&h->mu);
		}
		if (queued) {
			curl_multi_wakeup(h->multi);
		} else {
			wjob_free(w);
			say(h, true, "webhook queue full (%d): %s %s dropped (%" PRIu64
				     " dropped)", BC_WEBHOOK_QUEUE_MAX,
			    e->remove ? "unban" : "ban", addr, dropped);
		}
	}
}

void bc_hooks_poll(struct bc_hooks *h, int64_t now)
{
	if (h->nrun > 0)
		reap(h, now);
	while (h->hq_n > 0 && h->nrun < h->cfg.hook_max) {
		struct hjob *j = h->hq[h->hq_head];

		h->hq_head = (h->hq_head + 1) % BC_HOOK_QUEUE_MAX;
		h->hq_n--;
		spawn(h, j, now);
		hjob_free(j);
	}
	if (h->th_started) {
		char lines[BC_HOOK_LOG_MAX][BC_HOOK_LOG_LEN];
		bool warn[BC_HOOK_LOG_MAX];
		size_t n, i;
		uint64_t lost;

		pthread_mutex_lock(&h->mu);
		n = h->nwlog;
		if (n > 0) {
			memcpy(lines, h->wlog, n * sizeof(lines[0]));
			memcpy(warn, h->wlog_warn, n * sizeof(warn[0]));
		}
		lost = h->wlog_lost;
		h->nwlog = 0;
		h->wlog_lost = 0;
		pthread_mutex_unlock(&h->mu);
		for (i = 0; i < n; i++)
			say(h, warn[i], "%s", lines[i]);
		if (lost > 0)
			say(h, true, "webhook: %" PRIu64 " log lines suppressed", lost);
	}
}

long bc_hooks_wait_ms(const struct bc_hooks *h)
{
	return h->nrun > 0 || h->hq_n > 0 ? BC_HOOK_POLL_MS : -1;
}

void bc_hooks_stats(struct bc_hooks *h, struct bc_hooks_stats *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->hook, h->hstats, sizeof(st->hook));
	st->hook_queued = h->hq_n;
	st->hook_running = h->nrun;
	pthread_mutex_lock(&h->mu);
	memcpy(st->webhook, h->wstats, sizeof(st->webhook));
	st->webhook_queued = h->wn;
	pthread_mutex_unlock(&h->mu);
}

void bc_hooks_free(struct bc_hooks **hp)
{
	struct bc_hooks *h = *hp;
	size_t i;

	if (h == NULL)
		return;
	if (h->th_started) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		pthread_mutex_unlock(&h->mu);
		curl_multi_wakeup(h->multi);
		pthread_join(h->th, NULL);
		if (h->wn > 0) {
			char msg[128];

			snprintf(msg, sizeof(msg), "webhook: %zu change%s not delivered at stop",
				 h->wn, h->wn == 1 ? "" : "s");
			h->log(h->log_arg, true, msg);
		}
		for (i = 0; i < h->wn; i++) {
			if (h->wq[i]->easy != NULL) {
				curl_multi_remove_handle(h->multi, h->wq[i]->easy);
				curl_easy_cleanup(h->wq[i]->easy);
			}
			wjob_free(h->wq[i]);
		}
		curl_multi_cleanup(h->multi);
		curl_global_cleanup();
	}
	while (h->hq_n > 0) {
		hjob_free(h->hq[h->hq_head]);
		h->hq_head = (h->hq_head + 1) % BC_HOOK_QUEUE_MAX;
		h->hq_n--;
	}
	pthread_mutex_destroy(&h->mu);
	free(h);
	*hp = NULL;
}

void bc_coord_hooks_cfg(const struct bc_coord_cfg *cfg,
			struct bc_hooks_cfg *hc)
{
	memset(hc, 0, sizeof(*hc));
	snprintf(hc->on_ban, sizeof(hc->on_ban), "%s", cfg->on_ban);
	snprintf(hc->on_unban, sizeof(hc->on_unban), "%s", cfg->on_unban);
	snprintf(hc->webhook, sizeof(hc->webhook), "%s", cfg->webhook);
	hc->hook_timeout_ms = cfg->hook_timeout * 1000;
	hc->hook_max = (unsigned)cfg->hook_max;
	hc->webhook_timeout_ms = cfg->webhook_timeout * 1000;
	hc->webhook_retries = (unsigned)cfg->webhook_retries;
}
