/*
 * cluster_events.c - the events of each ROUTER drain in cluster mode
 * (cluster.h): every coordinator counts every event, so the reports a
 * coordinator receives are put to etcd before they are acknowledged.
 *
 * One binary batch per drain (more when it passes CL_EV_MAX), "BCE2",
 * node, then per report: agent, receive time, store row, report id,
 * count, the records' bytes, and the records (cluster_codec.h: 8 bytes
 * for a recent IPv4 event). Put on a lease of findtime + 2 min granted
 * each minute, so etcd forgets a batch once none of its events can count.
 *
 * A small batch (a few reports of a few events: the latency of a ban) is
 * put by the loop itself. A larger one is handed to the putter thread
 * with the acks of its reports, and the loop goes on reading, verifying
 * and storing the next drain meanwhile: at most one batch in flight, the
 * next hand-over waits for it. Its acks go out once it landed. A put that
 * fails withholds the acks and puts back each agent's last_report: the
 * agents resend and the events are counted then. A resend of a report
 * whose batch is still in flight gets no ack (the agent sends it again).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/cluster_int.h"
#include "coordinator/intake.h"

enum { EV_IDLE, EV_QUEUED, EV_DONE };

static int ev_reserve(struct bc_cluster *k, size_t more)
{
	if (k->evlen + more <= k->evcap)
		return 0;
	size_t cap = k->evcap ? k->evcap : 65536;
	uint8_t *n;

	while (cap < k->evlen + more)
		cap *= 2;
	n = realloc(k->ev, cap);
	if (n == NULL)
		return -1;
	k->ev = n;
	k->evcap = cap;
	return 0;
}

static void wr64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The events' lease, through client e (the loop's or the putter's: one
 * at a time, the hand-over orders them). */
static int ev_lease(struct bc_cluster *k, struct bc_etcd *e, int64_t ttl,
		    char *err, size_t errlen)
{
	int64_t now = bc_mono_ms();

	if (k->ev_lease != 0 && now < k->ev_lease_next_ms)
		return 0;
	if (bc_etcd_lease_grant(e, ttl, &k->ev_lease,
				NULL, err, errlen) < 0) {
		k->ev_lease = 0;
		return -1;
	}
	k->ev_lease_next_ms = now + 60000;
	return 0;
}

/* the events' lease: findtime + 2 min (read in the loop: a reload
 * changes cfg) */
static int64_t ev_ttl(const struct bc_coord *c)
{
	return c->cfg.findtime + 120;
}

static void nap_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Put one batch through client e on a lease of ttl s: 0, or -1 with
 * err. */
static int put_batch(struct bc_cluster *k, struct bc_etcd *e, int64_t ttl,
		     const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	char key[CL_KEY_MAX];
	int64_t end = bc_mono_ms() + CL_EV_RETRY_MS;
	int rc;

	if (!cl_etcd_ok(k)) {
		snprintf(err, errlen, "etcd unreachable");
		return -1;
	}
	cl_key(k, key, sizeof(key), "ev/%s/%" PRId64 "-%" PRIu64, k->node,
	       k->started_ms, ++k->evseq);
	/* etcd electing a leader answers nothing for about a second: try
	 * again within CL_EV_RETRY_MS rather than leave it to the agents' 3 s
	 * resend. A put that did land twice is counted once (the report
	 * ids, cluster_apply.c). */
	for (;;) {
		rc = ev_lease(k, e, ttl, err, errlen);
		if (rc == 0)
			rc = bc_etcd_put(e, key, strlen(key), buf, len, k->ev_lease,
					 NULL, err, errlen);
		if (rc < 0 && strstr(err, "lease") != NULL)
			k->ev_lease = 0; /* expired under us: a new one */
		if (rc == 0 || bc_mono_ms() + 100 > end || !cl_etcd_ok(k))
			return rc;
		nap_ms(50);
	}
}

static void put_counted(struct bc_cluster *k, int rc, const char *err)
{
	if (rc == 0) {
		k->event_puts++;
		return;
	}
	k->event_put_failures++;
	if (k->c->log_budget > 0) {
		k->c->log_budget--;
		bc_warn("cluster: events not written to etcd: %s (reports not "
			"acknowledged; the agents send them again)", err);
	}
}

/* The batch is not in etcd: each report's agent goes back to its last
 * report before (in memory and in the store: a restart must not ack the
 * resend as seen), and is counted when it resends. */
static void roll_back(struct bc_coord *c, const struct cl_rep *v, size_t n)
{
	size_t i;

	for (i = n; i-- > 0;) {
		struct bc_agent_state *st = &c->peer_state[v[i].agent];

		if (st->unlanded == v[i].id)
			st->unlanded = 0;
		if (st->last_report != v[i].id)
			continue; /* an agent that did not wait for the ack */
		st->last_report = v[i].prev;
		if (bc_store_counter_set(c->store, c->ring.v[v[i].agent].name,
					 BC_CHAN_REPORTS, v[i].prev) < 0)
			bc_warn("cluster: report counter of %s: store: %s",
				c->ring.v[v[i].agent].name, bc_store_error(c->store));
	}
}

/* ---- the putter thread --------------------------------------------- */

static void *putter_main(void *arg)
{
	struct bc_cluster *k = arg;
	struct cl_evflight *f = &k->ef;
	uint64_t one = 1;

	pthread_mutex_lock(&k->emu);
	while (!atomic_load(&k->stop) || f->state == EV_QUEUED) {
		if (f->state != EV_QUEUED) {
			pthread_cond_wait(&k->ecv, &k->emu);
			continue;
		}
		pthread_mutex_unlock(&k->emu);
		/* the loop leaves the flight alone until it is done */
		f->rc = put_batch(k, k->eetcd, f->ttl, f->buf, f->len, f->err,
				  sizeof(f->err));
		pthread_mutex_lock(&k->emu);
		f->state = EV_DONE;
		pthread_cond_broadcast(&k->ecv);
		if (write(k->ev_fd, &one, sizeof(one)) < 0) {
			/* the counter is full: the loop is being woken anyway */
		}
	}
	pthread_mutex_unlock(&k->emu);
	return NULL;
}

int cl_events_start(struct bc_cluster *k, char *err, size_t errlen)
{
	k->ef.acks = calloc(BC_COORD_ACKS, sizeof(*k->ef.acks));
	if (k->ef.acks == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cl_worker_start(k, &k->eetcd, &k->ev_fd, &k->putter_th, putter_main,
			    "event putter", err, errlen) < 0)
		return -1;
	k->putter_up = true;
	return 0;
}

/* The flight's answer, in the loop: acks out, or the reports rolled
 * back. The flight is idle after. */
static void finish(struct bc_cluster *k)
{
	struct bc_coord *c = k->c;
	struct cl_evflight *f = &k->ef;
	size_t i;

	put_counted(k, f->rc, f->err);
	if (f->rc < 0 && !f->whole)
		k->ev_failed = true; /* a part of the drain being read */
	if (f->rc < 0)
		roll_back(c, f->reps, f->nreps);
	for (i = 0; i < f->nreps; i++)
		if (c->peer_state[f->reps[i].agent].unlanded == f->reps[i].id)
			c->peer_state[f->reps[i].agent].unlanded = 0;
	bc_coord_send_acks(c, f->acks, f->nacks, f->rc == 0);
	f->nacks = 0;
	f->nreps = 0;
	pthread_mutex_lock(&k->emu);
	f->state = EV_IDLE;
	pthread_mutex_unlock(&k->emu);
}

/* Wait for the flight (if any) and take its answer. */
static void settle(struct bc_cluster *k)
{
	uint64_t v;
	int st;

	if (!k->putter_up)
		return;
	pthread_mutex_lock(&k->emu);
	while (k->ef.state == EV_QUEUED)
		pthread_cond_wait(&k->ecv, &k->emu);
	st = k->ef.state;
	pthread_mutex_unlock(&k->emu);
	if (st == EV_DONE) {
		if (read(k->ev_fd, &v, sizeof(v)) < 0) {
			/* read already: the wake-up served */
		}
		finish(k);
	}
}

void cl_events_stop(struct bc_cluster *k)
{
	if (k->putter_up) {
		settle(k); /* the last batch's acks, while the ROUTER is open */
		pthread_mutex_lock(&k->emu);
		atomic_store(&k->stop, 1);
		pthread_cond_broadcast(&k->ecv);
		pthread_mutex_unlock(&k->emu);
		pthread_join(k->putter_th, NULL);
		k->putter_up = false;
	}
	if (k->ev_fd >= 0)
		close(k->ev_fd);
	k->ev_fd = -1;
	bc_etcd_free(&k->eetcd);
	free(k->ef.buf);
	free(k->ef.reps);
	free(k->ef.acks);
	memset(&k->ef, 0, sizeof(k->ef));
}

int bc_cluster_events_fd(struct bc_coord *c)
{
	return c->cluster->ev_fd;
}

void bc_cluster_events_settle(struct bc_coord *c)
{
	if (c->cluster != NULL)
		settle(c->cluster);
}

void bc_cluster_events_done(struct bc_coord *c)
{
	struct bc_cluster *k = c->cluster;
	int st;

	pthread_mutex_lock(&k->emu);
	st = k->ef.state;
	pthread_mutex_unlock(&k->emu);
	if (st == EV_DONE)
		settle(k);
}

/*
 * Hand the batch being written to the putter (after the flight before
 * it): whole, with the drain's reports and acks (the loop's acks move to
 * the flight; only when with_acks), or a part cut at CL_EV_MAX.
 */
static int hand_over(struct bc_cluster *k, bool whole, bool with_acks)
{
	struct bc_coord *c = k->c;
	struct cl_evflight *f = &k->ef;
	uint8_t *b;
	size_t cap, i;

	settle(k);
	if (whole && k->nreps > f->capreps) {
		void *n = realloc(f->reps, k->nreps * sizeof(*f->reps));

		if (n == NULL)
			return -1;
		f->reps = n;
		f->capreps = k->nreps;
	}
	/* the two buffers change places: no copy */
	b = f->buf;
	cap = f->cap;
	f->buf = k->ev;
	f->cap = k->evcap;
	f->len = k->evlen;
	k->ev = b;
	k->evcap = cap;
	k->evlen = 0;
	k->cur_agent = SIZE_MAX;
	f->whole = whole;
	f->ttl = ev_ttl(c);
	f->nreps = 0;
	f->nacks = 0;
	if (whole) {
		memcpy(f->reps, k->reps, k->nreps * sizeof(*f->reps));
		f->nreps = k->nreps;
		k->nreps = 0;
		for (i = 0; i < f->nreps; i++)
			c->peer_state[f->reps[i].agent].unlanded = f->reps[i].id;
		if (with_acks) {
			for (i = 0; i < c->nacks; i++) {
				zmq_msg_init(&f->acks[i].id);
				zmq_msg_move(&f->acks[i].id, &c->acks[i].id);
				zmq_msg_close(&c->acks[i].id);
				f->acks[i].report_id = c->acks[i].report_id;
				f->acks[i].version = c->acks[i].version;
			}
			f->nacks = c->nacks;
			c->nacks = 0;
		}
	}
	pthread_mutex_lock(&k->emu);
	f->state = EV_QUEUED;
	pthread_cond_signal(&k->ecv);
	pthread_mutex_unlock(&k->emu);
	return 0;
}

void bc_cluster_event(struct bc_coord *c, size_t agent, int64_t recv_ms,
		      int64_t row, uint64_t report_id,
		      const struct bc_policy_event *pe)
{
	struct bc_cluster *k = c->cluster;
	const char *name = c->ring.v[agent].name;
	size_t nl = strlen(name) > 255 ? 255 : strlen(name);
	uint8_t *p;
	size_t rl;

	/* a batch is cut between reports only: a report's events go in one
	 * put, or the second part would read as a resend of the first */
	if (k->evlen > CL_EV_MAX && (k->cur_agent != agent || k->cur_row != row) &&
	    hand_over(k, false, false) < 0)
		k->ev_failed = true;
	if (k->evlen == 0) {
		size_t l = strlen(k->node);

		if (ev_reserve(k, 5 + l) < 0)
			goto oom;
		memcpy(k->ev, CL_EV_MAGIC, 4);
		k->ev[4] = (uint8_t)l;
		memcpy(k->ev + 5, k->node, l);
		k->evlen = 5 + l;
		k->cur_agent = SIZE_MAX;
	}
	if (k->cur_agent != agent || k->cur_row != row) {
		if (ev_reserve(k, 1 + nl + CL_EV_REPORT_HDR + 4) < 0)
			goto oom;
		p = k->ev + k->evlen;
		p[0] = (uint8_t)nl;
		memcpy(p + 1, name, nl);
		wr64(p + 1 + nl, (uint64_t)recv_ms);
		wr64(p + 9 + nl, (uint64_t)row);
		wr64(p + 17 + nl, report_id);
		memset(p + 25 + nl, 0, 8);
		k->evreports_at = k->evlen + 25 + nl;
		k->evlen += 1 + nl + CL_EV_REPORT_HDR + 4;
		k->cur_agent = agent;
		k->cur_row = row;
		k->cur_recv = recv_ms;
		k->evcount = 0;
		k->evbytes = 0;
	}
	if (ev_reserve(k, CL_EV_REC_MAX) < 0)
		goto oom;
	rl = cl_ev_encode(k->ev + k->evlen, k->cur_recv, pe);
	k->evlen += rl;
	k->evcount++;
	k->evbytes += (uint32_t)rl;
	p = k->ev + k->evreports_at;
	wr32(p, k->evcount);
	wr32(p + 4, k->evbytes);
	return;
oom:
	k->ev_failed = true;
}

void bc_cluster_report(struct bc_coord *c, size_t agent, uint64_t prev,
		       uint64_t id)
{
	struct bc_cluster *k = c->cluster;

	if (k->nreps == k->capreps) {
		size_t cap = k->capreps ? k->capreps * 2 : 64;
		void *n = realloc(k->reps, cap * sizeof(*k->reps));

		if (n == NULL) {
			k->ev_failed = true;
			return;
		}
		k->reps = n;
		k->capreps = cap;
	}
	k->reps[k->nreps].agent = agent;
	k->reps[k->nreps].prev = prev;
	k->reps[k->nreps].id = id;
	k->nreps++;
}

bool bc_cluster_unlanded(const struct bc_coord *c, size_t agent, uint64_t id)
{
	return c->cluster != NULL && id != 0 && c->peer_state[agent].unlanded == id;
}

int bc_cluster_flush_events(struct bc_coord *c, bool acks_ok)
{
	struct bc_cluster *k = c->cluster;
	char err[BC_ETCD_ERR_MAX];
	int rc;

	settle(k); /* the batch before: its acks out first, in order */
	if (k->ev_failed) {
		put_counted(k, -1, "the drain's batch could not be built or a part of it was not written");
		rc = -1;
	} else if (k->evlen == 0) {
		rc = 0;
	} else if (k->evlen > CL_EV_INLINE && k->putter_up) {
		if (hand_over(k, true, acks_ok) == 0)
			return 1;
		put_counted(k, -1, "out of memory");
		rc = -1;
	} else {
		rc = put_batch(k, k->etcd, ev_ttl(c), k->ev, k->evlen, err,
			       sizeof(err));
		put_counted(k, rc, err);
	}
	if (rc < 0)
		roll_back(c, k->reps, k->nreps);
	k->evlen = 0;
	k->cur_agent = SIZE_MAX;
	k->nreps = 0;
	k->ev_failed = false;
	return rc;
}
