/*
 * cluster_int.h - what cluster.c (start, session and watch threads,
 * status), cluster_apply.c (applying what the watch delivers) and
 * cluster_write.c (event batches, decisions) share. Callers use
 * cluster.h.
 */
#ifndef BC_COORD_CLUSTER_INT_H
#define BC_COORD_CLUSTER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "coordinator/cluster.h"
#include "coordinator/cluster_codec.h"
#include "coordinator/etcd.h"
#include "coordinator/store.h"

#define CL_PREFIX_MAX 128
#define CL_KEY_MAX (CL_PREFIX_MAX + 96)
#define CL_EV_MAX (512u << 10) /* a batch's bytes before the next report: with
			       * the largest report (~260 KB) base64 in JSON
			       * stays under etcd's request cap of 1.5 MiB */
#define CL_QUEUE_MAX 65536    /* decisions waiting (leader) or pending */
#define CL_WAIT_MS 1500       /* an admin's change: wait for it to apply */
#define CL_ADMIN_MS 1500      /* an admin's change: commit attempts within */
#define CL_SESSION_MS 100     /* session thread's cycle */
#define CL_DRAIN_MAX 512      /* watched changes applied per loop turn */
#define CL_INLINE_MAX 4       /* decisions a txn the leader's loop runs itself */
#define CL_EV_RETRY_MS 1500   /* an event batch's put is tried this long */
#define CL_EV_INLINE 1024     /* a batch up to this is put by the loop itself
			       * (a ban's latency); larger ones by the putter */
#define CL_READ_MAX (256u << 20) /* the prefix read in one range (start, reset) */
#define CL_OFFENCES_MAX 256   /* offence times kept per key in etcd */
#define CL_TOMB_TTL_S 3600    /* an unban's or expiry's record stays this long */
#define CL_TOMB_EVERY_MS 600000  /* ... on a lease granted this often */
#define CL_OFF_MARGIN_S 7200  /* offences: recidive_window + this, */
#define CL_OFF_EVERY_MS 3600000  /* ... on a lease granted this often */

/* messages of the watch thread to the loop (first frame's byte) */
enum { CL_MSG_PUT = 'P', CL_MSG_DEL = 'D', CL_MSG_RESET = 'R', CL_MSG_SYNCED = 'S',
       CL_MSG_ERROR = 'E' };

/* A decision waiting to be committed: the leader's next batch, or a
 * follower's pending rule ban. */
struct cl_prop {
	struct bc_store_ban sb;
	bool expiry;                 /* a tombstone for an expired ban */
	bool rule;
	bool sending;                /* in the committer's txn */
	struct bc_store_event *ev;   /* evidence, owned (rule bans) */
	char (*evtext)[3][BC_WIRE_MAX_TEXT + 1];
	size_t nev;
};

/* Committed by this coordinator, not yet applied from the watch. */
struct cl_flight {
	struct bc_addr addr;
	int64_t rev;
	struct bc_store_event *ev;   /* evidence for the apply, owned */
	char (*evtext)[3][BC_WIRE_MAX_TEXT + 1];
	size_t nev;
};

/* Address -> position in the queue or the flights (cluster_idx.c). */
struct cl_slot {
	struct bc_addr a;
	size_t pos;
	uint8_t state;
};
struct cl_idx {
	struct cl_slot *v;
	size_t cap, used, live;      /* used: live and tombstones */
	uint8_t key[BC_ADDR_HASH_KEYBYTES]; /* bc_addr_hash */
};
long cl_idx_get(const struct cl_idx *x, const struct bc_addr *a);
/* insert or move; -1 out of memory (never for a key present) */
int cl_idx_put(struct cl_idx *x, const struct bc_addr *a, size_t pos);
void cl_idx_del(struct cl_idx *x, const struct bc_addr *a);
void cl_idx_free(struct cl_idx *x);

/* A decision txn the loop builds and the committer thread runs
 * (cluster_write.c). Its pointers point into itself. */
struct cl_job {
	struct bc_etcd_cmp cmp[2];
	size_t ncmp;
	struct bc_etcd_op *ops, fail[2];
	size_t nops;
	char skey[CL_KEY_MAX], lkey[CL_KEY_MAX], sv[24], nv[24];
	char (*keys)[CL_KEY_MAX];
	char **recs;                 /* 2 n, NULL where none */
	struct bc_addr *addr;        /* the queue entries it commits */
	size_t n;
	uint64_t base;               /* seq before it */
	bool fence;
	int64_t lease;
	/* the committer's answer */
	int rc;                      /* bc_etcd_txn's */
	bool unknown;                /* rc < 0 and the txn may have landed */
	struct bc_etcd_txn_result t;
	char err[BC_ETCD_ERR_MAX];
};

enum { CL_JOB_IDLE, CL_JOB_QUEUED, CL_JOB_DONE };

/* A report in an event batch: its agent (index in c->ring), its id and
 * the agent's last_report before it (put back if the batch fails). */
struct cl_rep {
	size_t agent;
	uint64_t prev, id;
};

/* The event batch the putter thread writes (cluster_events.c); the loop
 * leaves it alone while it is queued. */
struct cl_evflight {
	uint8_t *buf;
	size_t len, cap;
	int64_t ttl;                 /* its lease's, s */
	bool whole;                  /* a drain's last (else a part of one) */
	struct cl_rep *reps;         /* whole: the drain's reports */
	size_t nreps, capreps;
	struct bc_coord_ack *acks;   /* whole: their acks (BC_COORD_ACKS) */
	size_t nacks;
	int state;                   /* under emu */
	int rc;
	char err[BC_ETCD_ERR_MAX];
};

/* A worker thread running fn(k) with its own etcd client *e and an
 * eventfd *fd (nonblocking) it wakes the loop with: 0, or -1 with err. */
int cl_worker_start(struct bc_cluster *k, struct bc_etcd **e, int *fd,
		    pthread_t *th, void *(*fn)(void *), const char *what,
		    char *err, size_t errlen);
int cl_events_start(struct bc_cluster *k, char *err, size_t errlen);
/* the last batch's acks out, the thread stopped */
void cl_events_stop(struct bc_cluster *k);

/* The leader a follower watches (cluster_peer.c). */
struct cl_peer {
	char name[CL_NAME_MAX];
	int64_t lease;               /* its lease: a new one, a new leader */
	struct sockaddr_storage sa;  /* its registered endpoint */
	socklen_t salen;
	bool have_addr;
	int fd;                      /* TCP to it, -1 */
	bool connecting, was_up;     /* a connection to it was up once */
	int64_t retry_ms;
};

void cl_peer_init(struct cl_peer *p);
/* Each session cycle of a follower, with the leader it sees: true when
 * the leader's process is gone (its connection closed, its port now
 * refuses): revoke its lease. */
bool cl_peer_tick(struct cl_peer *p, struct bc_etcd *e, const struct bc_cluster *k,
		  const char *leader, int64_t lease);
void cl_peer_close(struct cl_peer *p);

struct bc_cluster {
	struct bc_coord *c;
	char prefix[CL_PREFIX_MAX];
	size_t plen;
	char node[CL_NAME_MAX];
	struct bc_etcd_opts opts;    /* its strings point into the copies below */
	char etcd_eps[BC_CFG_STR_MAX], cert[BC_CFG_STR_MAX], key[BC_CFG_STR_MAX],
		ca[BC_CFG_STR_MAX], advertise[BC_CFG_STR_MAX];
	int64_t ttl_s;               /* lease_ttl, as started */
	struct bc_etcd *etcd;        /* the loop's client */
	int64_t started_ms;

	/* threads */
	pthread_t session_th, watch_th, commit_th;
	bool session_up, watch_up, commit_up;
	atomic_int stop;
	void *pipe_r, *pipe_w;       /* inproc PAIR: watch thread -> loop */

	/* shared with the session thread (mu) */
	pthread_mutex_t mu;
	int64_t lease;               /* our lease, 0 none */
	bool leader;                 /* PREFIX/leader holds our lease */
	char leader_name[CL_NAME_MAX];
	int64_t leader_lease;
	bool etcd_ok;
	char etcd_err[BC_ETCD_ERR_MAX];
	atomic_int leader_now;       /* the loop's quick read of leader */

	/* the loop's */
	int64_t applied_rev;         /* last revision seen applied (maybe in part) */
	int64_t done_rev;            /* every event up to it applied */
	uint64_t seq_known;          /* PREFIX/seq as last seen or written */
	bool streak;                 /* the leader's txns follow each other */
	uint64_t streak_from;        /* seq before the first of them */
	bool synced;                 /* the first full read was applied */
	struct bc_banmap reset_bans; /* bans of a reset being read */
	struct bc_allowlist reset_allows; /* the store's allow list at start */

	/* events of this drain, one etcd put */
	uint8_t *ev;
	size_t evlen, evcap, evreports_at; /* evreports_at: offset of the open report's count */
	uint32_t evcount, evbytes;   /* events in the open report, their bytes */
	int64_t cur_recv;            /* its receive time (records' time base) */
	size_t cur_agent;            /* the open report's agent, SIZE_MAX none */
	int64_t cur_row;             /* and its store row */
	bool ev_failed;              /* a put of this drain failed */
	struct cl_rep *reps;         /* the drain's reports */
	size_t nreps, capreps;
	uint64_t evseq;
	int64_t ev_lease, ev_lease_next_ms;
	/* what etcd may forget (cl_house_lease): final decision records,
	 * offence histories past recidive_window */
	int64_t house_lease[2], house_next_ms[2];
	uint64_t house_lease_failures;

	/* decisions */
	struct cl_prop *q;           /* at most one per address */
	size_t nq, capq;
	struct cl_idx qi;            /* address -> index in q */
	struct cl_flight *fl;        /* at most one per address */
	size_t nfl, capfl;
	struct cl_idx fli;           /* address -> index in fl */
	size_t nsend;                /* entries of q in the job */

	/* the committer thread: the leader's decision txns, one at a time,
	 * while the loop goes on applying, counting and acknowledging */
	pthread_mutex_t cmu;         /* jstate, the job's answer */
	pthread_cond_t ccv;
	int jstate;                  /* CL_JOB_* */
	struct cl_job job;
	int commit_fd;               /* eventfd: the job is done; -1 */
	struct bc_etcd *cetcd;       /* the committer's client */

	/* the event putter thread: one drain's batch in flight while the
	 * loop reads the next (cluster_events.c) */
	pthread_t putter_th;
	bool putter_up;
	pthread_mutex_t emu;
	pthread_cond_t ecv;
	struct cl_evflight ef;
	int ev_fd;                   /* eventfd: the flight landed or failed; -1 */
	struct bc_etcd *eetcd;       /* the putter's client */

	/* enrolments from the watch, made at the loop's top level (the
	 * key ring they replace may be in use under a nested wait) */
	struct cl_enrol {
		char role[8], name[BC_NAME_MAX];
		uint8_t pk[32];
		bool removed;
	} *enq;
	size_t nenq, capenq;

	/* per agent: the last report id counted (cluster_apply.c) */
	struct { char name[BC_NAME_MAX + 1]; uint64_t last; } *seen;
	size_t nseen, capseen;

	/* counters */
	uint64_t commits, commit_failures, fenced, event_puts,
		event_put_failures, applied, bad_records, dup_reports;
};

/* cluster.c */
void cl_key(const struct bc_cluster *k, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool cl_is_leader(struct bc_cluster *k, int64_t *lease);
bool cl_etcd_ok(struct bc_cluster *k);

/* cluster_apply.c: one message of the watch thread */
void cl_apply(struct bc_cluster *k, int type, int64_t rev, const uint8_t *key,
	      size_t klen, const uint8_t *val, size_t vlen);
void cl_forget_key(struct bc_cluster *k, const struct bc_addr *a);

/* cluster_write.c */
int cl_commit_queue(struct bc_cluster *k);
/* the committer thread (cluster_write.c); stop: after k->stop is set */
int cl_commit_start(struct bc_cluster *k, char *err, size_t errlen);
void cl_commit_stop(struct bc_cluster *k);
/* no txn running and decisions wait for one */
bool cl_commit_ready(struct bc_cluster *k);
void cl_prop_free(struct cl_prop *p);
void cl_flight_free(struct cl_flight *f);
/* f: a flight of p's address holding p's evidence (moved out of p) */
void cl_prop_to_flight(struct cl_prop *p, struct cl_flight *f);
/* remove q[i] / fl[i] (the last entry takes its place) */
void cl_q_del(struct bc_cluster *k, size_t i);
void cl_fl_del(struct bc_cluster *k, size_t i);
/* a decision record (JSON) of sb as seq */
char *cl_record(const struct bc_cluster *k, const struct bc_store_ban *sb,
		const char *action, const char *signer, bool rule, uint64_t seq);
/* PREFIX/d/ADDR/PLEN: the key of a's decision record */
void cl_dkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	     size_t len);
/* an allow list change's record (JSON, cluster_codec.h) as seq, and its
 * key PREFIX/al/ADDR/PLEN */
char *cl_allow_record(const struct bc_cluster *k, const struct bc_allow *e,
		      const char *action, const char *signer, uint64_t seq);
void cl_alkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	      size_t len);
/* A decision that leaves the address banned (else it is final). */
static inline bool cl_live_action(const char *action)
{
	return strcmp(action, "ban") == 0 || strcmp(action, "extend") == 0;
}

/*
 * The lease a key written now goes on so that etcd deletes it once it no
 * longer counts: CL_HOUSE_TOMB for the record of a final decision
 * (unban, expire: CL_TOMB_TTL_S later), CL_HOUSE_OFF for an offence
 * history (recidive_window + CL_OFF_MARGIN_S after its last write). One
 * lease per period, shared by the keys written in it. 0 (no lease: the
 * key stays) when etcd refuses a grant; decisions never wait for one.
 */
enum { CL_HOUSE_TOMB = 0, CL_HOUSE_OFF = 1 };
int64_t cl_house_lease(struct bc_cluster *k, int kind);
/* etcd said a lease of ours is gone: grant new ones next time. */
void cl_house_reset(struct bc_cluster *k);

/* PREFIX/off/ADDR/PLEN and its value: a's offences, at included */
void cl_offkey(const struct bc_cluster *k, const struct bc_addr *a, char *out,
	       size_t len);
char *cl_offences(const struct bc_cluster *k, const struct bc_addr *a, int64_t at);
/* wait until the loop applied decision seq (drains the watch meanwhile) */
int cl_wait_seq(struct bc_cluster *k, uint64_t seq, int ms);

#endif
