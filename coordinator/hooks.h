/*
 * hooks.h - tell other systems about every fleet ban and unban: a program
 * run with execv (on_ban, on_unban) that reads the ban as JSON on its
 * stdin, and an HTTP POST of the same JSON (webhook), neither of which
 * can hold up a decision.
 *
 * The coordinator's loop calls bc_hooks_fire() after a change is
 * committed and published; that only queues. bc_hooks_poll(), called by
 * the loop every round, starts queued programs (at most hook_max at once,
 * each in its own process group), reaps them without waiting and kills
 * the process group of one that outlives hook_timeout. The webhook runs
 * in a thread of its own with a libcurl multi handle (webhook_parallel
 * transfers at once), retrying failures with exponential back-off. Both
 * queues are bounded: an event that finds its queue full is dropped and
 * counted. The JSON is in docs/hooks.md.
 */
#ifndef BC_HOOKS_H
#define BC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/banmap.h"
#include "common/config.h"
#include "conf/coordinator.h"
#include "common/clock.h"

#define BC_HOOK_QUEUE_MAX 1024      /* programs waiting for a free slot */
#define BC_HOOK_JSON_MAX 8192       /* one ban as JSON */
#define BC_HOOK_POLL_MS 50          /* loop wait while programs run */
#define BC_WEBHOOK_QUEUE_MAX 1024   /* POSTs queued, in flight or waiting to retry */
#define BC_WEBHOOK_PARALLEL 4       /* transfers at once */
#define BC_WEBHOOK_BACKOFF_MS 1000  /* first retry; doubles each time */
#define BC_WEBHOOK_BACKOFF_MAX_MS 60000
#define BC_HOOK_LOG_MAX 64          /* webhook log lines held for the loop */
#define BC_HOOK_LOG_LEN 384

/* The [coordinator] keys this module uses. */
struct bc_hooks_cfg {
	char on_ban[BC_CFG_STR_MAX];
	char on_unban[BC_CFG_STR_MAX];
	char webhook[BC_CFG_STR_MAX];
	int64_t hook_timeout_ms;
	unsigned hook_max;
	int64_t webhook_timeout_ms;
	unsigned webhook_retries; /* retries after the first attempt */
};

/* One committed change, as the coordinator knows it. */
struct bc_hook_event {
	bool remove;            /* false: ban, true: unban or expiry */
	const struct bc_ban *ban;
	const char *origin;     /* ban: store origin ("manual:NAME",
				 * "rule:maxretry", "rule:subnet");
				 * unban: "unban" or "expire" */
	const char *reason;     /* ban: its reason; unban: NULL */
	const char *signer;     /* admin key name, "" for the policy */
	const char *cluster;
	uint64_t epoch, seq;    /* the published update */
	int64_t time_ms;        /* when the change was made */
};

enum bc_hook_result {
	BC_HOOK_OK,          /* exit status 0 */
	BC_HOOK_FAILED,      /* other exit status, or killed by a signal */
	BC_HOOK_TIMEOUT,     /* killed after hook_timeout */
	BC_HOOK_NOT_RUN,     /* could not be started (missing, not executable) */
	BC_HOOK_DROPPED,     /* queue full: never started */
	BC_HOOK_RESULTS
};

enum bc_webhook_result {
	BC_WEBHOOK_DELIVERED, /* a 2xx answer */
	BC_WEBHOOK_RETRIED,   /* one failed attempt that is tried again */
	BC_WEBHOOK_FAILED,    /* given up: out of retries, or a 4xx/3xx */
	BC_WEBHOOK_DROPPED,   /* queue full: never sent */
	BC_WEBHOOK_RESULTS
};

struct bc_hooks_stats {
	uint64_t hook[2][BC_HOOK_RESULTS]; /* [0] on_ban, [1] on_unban */
	uint64_t webhook[BC_WEBHOOK_RESULTS];
	size_t hook_queued, hook_running;
	size_t webhook_queued; /* queued, in flight or waiting to retry */
};

/* Where the module's messages go: called from the loop's thread only. */
typedef void (*bc_hooks_log_fn)(void *arg, bool warn, const char *msg);

struct bc_hooks;

/* NULL + err on failure (out of memory, webhook thread not started). */
struct bc_hooks *bc_hooks_new(const struct bc_hooks_cfg *cfg,
			      bc_hooks_log_fn log, void *log_arg, char *err,
			      size_t errlen);

/* A reload: new programs, webhook and limits for the events fired from
 * now on; programs already running keep their deadline. Returns 0 or -1
 * + err (the webhook thread could not be started). */
int bc_hooks_set_cfg(struct bc_hooks *h, const struct bc_hooks_cfg *cfg,
		     char *err, size_t errlen);

/* Queue the hooks of one committed change. Never blocks. */
void bc_hooks_fire(struct bc_hooks *h, const struct bc_hook_event *e);

/* Start queued programs, reap finished ones, kill late ones, log what
 * the webhook thread reported. now_mono: bc_mono_ms(). */
void bc_hooks_poll(struct bc_hooks *h, int64_t now_mono);

/* How long the loop may wait before the next bc_hooks_poll(): -1 when
 * nothing runs and nothing waits, else BC_HOOK_POLL_MS. */
long bc_hooks_wait_ms(const struct bc_hooks *h);

void bc_hooks_stats(struct bc_hooks *h, struct bc_hooks_stats *st);

/* Stop the webhook thread (queued POSTs are dropped, and logged) and
 * forget running programs (they are not killed). */
void bc_hooks_free(struct bc_hooks **h);

/*
 * The JSON of one change into buf (NUL-terminated). Text fields pass
 * valid UTF-8 through; control characters, '"' and '\\' are escaped and
 * bytes that are not UTF-8 become U+FFFD. Returns the length, or 0 when
 * cap is too small.
 */
size_t bc_hook_json(const struct bc_hook_event *e, char *buf, size_t cap);

/* Names for metrics labels and logs. */
const char *bc_hook_result_name(enum bc_hook_result r);
const char *bc_webhook_result_name(enum bc_webhook_result r);

/* The hooks module's part of the configuration. */
void bc_coord_hooks_cfg(const struct bc_coord_cfg *cfg,
			struct bc_hooks_cfg *hc);

#endif
