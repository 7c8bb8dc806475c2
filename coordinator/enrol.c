/*
 * enrol.c - enrolment: the trusted key directories changed and listed by
 * signed admin requests (enrol.h; docs/operations.md, Enrolment).
 *
 * Input: a verified admin request (intake.c), whose name and key are
 * still an admin's text: the name must be a node name (bc_name_valid:
 * [A-Za-z0-9._-], 1..63, no leading '.', so no '/', no "..") and the key
 * a usable Ed25519 key; a bad one is refused with a reason, the name
 * escaped in it. Writes: agents_dir/NAME.pub (admins_dir for admins)
 * atomically and never over an existing file (bc_key_install_public);
 * a removal first renames the file aside, so that a key set which does
 * not load puts it back. After either the directories are read again
 * and adopted as SIGHUP does for them; if they do not load, the change
 * is undone and the running keys stay. Each change is logged with the
 * admin who asked. Refused: a name or key enrolled already (in either
 * role, or the coordinator's own key), and an admin removing its own
 * key, which is also what removing the last admin would take.
 * In cluster mode an add or remove is first written to etcd
 * (PREFIX/k/ROLE/NAME: the key, or "-" once removed), and every
 * coordinator makes its directories match (bc_coord_enrol_apply, from
 * its watch, and at start for what changed while it was away).
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "coordinator/cluster.h"
#include "coordinator/enrol.h"
#include "coordinator/localbans.h"
#include "coordinator/intake.h"
#include "coordinator/reload.h"

static const char *role_word(int role)
{
	return role == BC_ROLE_ADMIN ? "admin" : "agent";
}

static const char *role_dir(const struct bc_coord *c, int role)
{
	return role == BC_ROLE_ADMIN ? c->cfg.admins_dir : c->cfg.agents_dir;
}

int bc_coord_adopt_ring(struct bc_coord *c, struct bc_keyring *ring)
{
	struct bc_agent_state *nst = calloc(ring->n + 1, sizeof(*nst));
	size_t i;

	if (nst == NULL) {
		bc_keyring_free(ring);
		return -1;
	}
	/* the event batch in flight names agents by their index */
	bc_cluster_events_settle(c);
	bc_coord_set_allowed_types(ring);
	for (i = 0; i < ring->n; i++) {
		struct bc_peer *old = bc_keyring_find_name(&c->ring, ring->v[i].name);

		if (old != NULL && old->role == ring->v[i].role &&
		    memcmp(old->pk, ring->v[i].pk, 32) == 0) {
			memcpy(ring->v[i].last_counter, old->last_counter,
			       sizeof(old->last_counter));
			ring->v[i].wire_version = old->wire_version;
			nst[i] = c->peer_state[old - c->ring.v];
		} else {
			bc_coord_load_counters(c->store, &ring->v[i], &nst[i]);
		}
	}
	for (i = 0; i < c->ring.n; i++) { /* local bans of keys that left */
		size_t j;

		for (j = 0; j < ring->n && nst[j].local != c->peer_state[i].local; j++)
			;
		if (j == ring->n)
			bc_coord_local_free(&c->peer_state[i]);
	}
	bc_keyring_free(&c->ring);
	c->ring = *ring;
	ring->v = NULL;
	ring->n = 0;
	free(c->peer_state);
	c->peer_state = nst;
	return 0;
}

int bc_coord_reload_keys(struct bc_coord *c, char *err, size_t errlen)
{
	struct bc_keyring ring = {0};
	char e[512];

	if (bc_keyring_load_dir(&ring, c->cfg.agents_dir, BC_ROLE_AGENT, e,
				sizeof(e)) < 0 ||
	    bc_keyring_load_dir(&ring, c->cfg.admins_dir, BC_ROLE_ADMIN, e,
				sizeof(e)) < 0) {
		snprintf(err, errlen, "%s", e);
		bc_keyring_free(&ring);
		return -1;
	}
	if (bc_coord_adopt_ring(c, &ring) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* "agent name \"X\": ..." for a name that is not a node name. */
static int name_check(const char *name, int role, char *err, size_t errlen)
{
	char esc[BC_NAME_MAX * 4];

	if (bc_name_valid(name))
		return 0;
	bc_escape(esc, sizeof(esc), name, strnlen(name, BC_NAME_MAX - 1));
	snprintf(err, errlen,
		 "%s name \"%s%s\": expected 1 to %d of A-Z a-z 0-9 . _ -, "
		 "not starting with \".\"", role_word(role), esc,
		 strlen(name) >= BC_NAME_MAX ? "..." : "", BC_NAME_MAX - 1);
	return -1;
}

/* Why a file in dir cannot be written, with what to do about it. */
static void write_error(const char *dir, const char *what, int e, char *err,
			size_t errlen)
{
	struct passwd *pw = getpwuid(geteuid());

	if (e == EACCES || e == EPERM || e == EROFS)
		snprintf(err, errlen,
			 "%s: %s (the coordinator runs as %s: it needs write "
			 "access to %s; the packages and the unit give it "
			 "/etc/bancluster/agents.d and admins.d)", what,
			 strerror(e), pw != NULL ? pw->pw_name : "?", dir);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

/*
 * Rename path (dir/NAME.pub) to ".NAME.pub.removed-RANDOM" in dir, which
 * bc_keyring_load_dir does not read; *moved says whether it was there
 * (ENOENT: removed by hand, not reloaded). 0, or -1 with the reason.
 */
static int set_aside(const char *dir, const char *name, const char *path,
		     char *aside, size_t asidelen, bool *moved, char *err,
		     size_t errlen)
{
	uint8_t rnd[8];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(aside, asidelen,
		 "%s/.%s.pub.removed-%02x%02x%02x%02x%02x%02x%02x%02x", dir,
		 name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);
	*moved = false;
	if (rename(path, aside) == 0) {
		*moved = true;
	} else if (errno != ENOENT) {
		write_error(dir, path, errno, err, errlen);
		return -1;
	}
	return 0;
}

static Bancluster__KeyEntry **one_entry(struct bc_arena *ar,
					const struct bc_peer *p, int64_t seen)
{
	Bancluster__KeyEntry *k = bc_arena_alloc(ar, sizeof(*k));
	Bancluster__KeyEntry **kp = bc_arena_alloc(ar, sizeof(*kp));
	uint8_t *pk = bc_arena_alloc(ar, 32);

	if (k == NULL || kp == NULL || pk == NULL)
		return NULL;
	bancluster__key_entry__init(k);
	k->name = bc_arena_strdup(ar, p->name);
	if (k->name == NULL)
		return NULL;
	k->role = (Bancluster__KeyRole)p->role;
	memcpy(pk, p->pk, 32);
	k->public_key.data = pk;
	k->public_key.len = 32;
	k->last_seen_ms = seen;
	kp[0] = k;
	return kp;
}

static int enrol_add(struct bc_coord *c, const char *admin,
		     const Bancluster__EnrolAddCmd *a, Bancluster__AdminReply *r,
		     struct bc_arena *ar, char *err, size_t errlen)
{
	int role = (int)a->role;
	const char *dir = role_dir(c, role);
	struct bc_peer p, *have;
	char path[BC_CFG_STR_MAX + BC_NAME_MAX + 8], fpr[BC_KEY_FPR_LEN],
		f2[BC_KEY_FPR_LEN], e[512];
	uint8_t curve[32];

	if (name_check(a->name, role, err, errlen) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", a->name);
	if (a->public_key.len != 32 ||
	    crypto_sign_ed25519_pk_to_curve25519(curve, a->public_key.data) != 0) {
		snprintf(err, errlen, "%s %s: not a valid Ed25519 public key",
			 role_word(role), p.name);
		return -1;
	}
	memcpy(p.pk, a->public_key.data, 32);
	bc_key_id(p.pk, p.id);
	memcpy(p.curve_pk, curve, 32);
	p.role = role;
	bc_key_fingerprint(p.id, sizeof(p.id), fpr);
	have = bc_keyring_find_name(&c->ring, p.name);
	if (have != NULL) {
		bc_key_fingerprint(have->id, sizeof(have->id), f2);
		snprintf(err, errlen, "%s %s exists already (key %s)%s",
			 role_word(have->role), p.name, f2,
			 have->role == role ? ": remove it first to give it another key"
					    : ": names are unique across agents and admins");
		return -1;
	}
	have = bc_keyring_find_id(&c->ring, p.id, sizeof(p.id));
	if (have != NULL) {
		snprintf(err, errlen, "key %s is enrolled already, as %s %s",
			 fpr, role_word(have->role), have->name);
		return -1;
	}
	if (memcmp(p.pk, c->signer.key.pk, 32) == 0) {
		snprintf(err, errlen, "key %s is the coordinator's own key", fpr);
		return -1;
	}
	/* cluster mode: into etcd first, so every coordinator enrols it
	 * (cluster_apply.c); this one does it here and now */
	if (bc_cluster_on(c) &&
	    bc_cluster_enrol(c, role_word(role), p.name, p.pk, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.pub", dir, p.name);
	if (bc_key_install_public(path, p.pk, e, sizeof(e)) < 0) {
		if (errno == EEXIST)
			snprintf(err, errlen,
				 "%s exists but is not loaded: reload the "
				 "coordinator, or remove the file", path);
		else
			write_error(dir, path, errno, err, errlen);
		return -1;
	}
	if (bc_coord_reload_keys(c, e, sizeof(e)) < 0) {
		unlink(path);
		snprintf(err, errlen, "%s %s not added: the key directories do "
			 "not load: %s", role_word(role), p.name, e);
		return -1;
	}
	bc_info("enrolment: admin %s added %s %s (key %s) as %s", admin,
		role_word(role), p.name, fpr, path);
	r->keys = one_entry(ar, &p, 0);
	r->n_keys = r->keys != NULL ? 1 : 0;
	return 0;
}

static int count_role(const struct bc_coord *c, int role)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->ring.n; i++)
		n += c->ring.v[i].role == role;
	return n;
}

static int enrol_remove(struct bc_coord *c, const char *admin,
			const Bancluster__EnrolRemoveCmd *m,
			Bancluster__AdminReply *r, struct bc_arena *ar,
			char *err, size_t errlen)
{
	int role = (int)m->role;
	const char *dir = role_dir(c, role);
	struct bc_peer p, *have;
	char path[BC_CFG_STR_MAX + BC_NAME_MAX + 8],
		aside[BC_CFG_STR_MAX + BC_NAME_MAX + 40], fpr[BC_KEY_FPR_LEN],
		e[512];
	bool moved = false;

	if (name_check(m->name, role, err, errlen) < 0)
		return -1;
	have = bc_keyring_find_name(&c->ring, m->name);
	if (have == NULL || have->role != role) {
		snprintf(err, errlen, "no %s named %s%s", role_word(role), m->name,
			 have != NULL ? have->role == BC_ROLE_ADMIN
						? " (that is an admin: bancluster admin remove)"
						: " (that is an agent: bancluster agent remove)"
				      : "");
		return -1;
	}
	if (role == BC_ROLE_ADMIN && strcmp(have->name, admin) == 0) {
		snprintf(err, errlen,
			 "admin %s cannot remove its own key: another admin "
			 "must (and the last admin cannot be removed)", admin);
		return -1;
	}
	if (role == BC_ROLE_ADMIN && count_role(c, BC_ROLE_ADMIN) <= 1) {
		snprintf(err, errlen, "%s is the last admin: not removed", have->name);
		return -1;
	}
	p = *have;
	bc_key_fingerprint(p.id, sizeof(p.id), fpr);
	if (bc_cluster_on(c) &&
	    bc_cluster_enrol(c, role_word(role), p.name, NULL, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.pub", dir, p.name);
	if (set_aside(dir, p.name, path, aside, sizeof(aside), &moved, err,
		      errlen) < 0)
		return -1;
	if (bc_coord_reload_keys(c, e, sizeof(e)) < 0) {
		if (moved && rename(aside, path) < 0)
			bc_warn("enrolment: %s could not be put back from %s: %s",
				path, aside, strerror(errno));
		snprintf(err, errlen, "%s %s not removed: the key directories "
			 "do not load: %s", role_word(role), p.name, e);
		return -1;
	}
	if (moved && unlink(aside) < 0)
		bc_warn("enrolment: %s: %s", aside, strerror(errno));
	bc_info("enrolment: admin %s removed %s %s (key %s, %s)", admin,
		role_word(role), p.name, fpr, path);
	r->keys = one_entry(ar, &p, 0);
	r->n_keys = r->keys != NULL ? 1 : 0;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct bc_peer *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int enrol_list(struct bc_coord *c, int role, Bancluster__AdminReply *r,
		      struct bc_arena *ar, char *err, size_t errlen)
{
	const struct bc_peer **v = bc_arena_alloc(ar, (c->ring.n + 1) * sizeof(*v));
	Bancluster__KeyEntry **kp = bc_arena_alloc(ar, (c->ring.n + 1) * sizeof(*kp));
	size_t i, n = 0;

	if (v == NULL || kp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->ring.n; i++)
		if (c->ring.v[i].role == role)
			v[n++] = &c->ring.v[i];
	qsort(v, n, sizeof(*v), by_name);
	for (i = 0; i < n; i++) {
		Bancluster__KeyEntry **one =
			one_entry(ar, v[i], c->peer_state[v[i] - c->ring.v].last_seen_ms);

		if (one == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		kp[i] = one[0];
	}
	r->keys = kp;
	r->n_keys = n;
	return 0;
}

int bc_coord_enrol_apply(struct bc_coord *c, const char *role_name,
			 const char *name, const uint8_t *pk, char *err,
			 size_t errlen)
{
	int role = strcmp(role_name, "admin") == 0 ? BC_ROLE_ADMIN : BC_ROLE_AGENT;
	const char *dir = role_dir(c, role);
	struct bc_peer *have;
	char path[BC_CFG_STR_MAX + BC_NAME_MAX + 8],
		aside[BC_CFG_STR_MAX + BC_NAME_MAX + 40], fpr[BC_KEY_FPR_LEN] = "-",
		e[512];
	uint8_t id[BC_KEY_ID_BYTES];
	bool moved = false;

	if (name_check(name, role, err, errlen) < 0)
		return -1;
	have = bc_keyring_find_name(&c->ring, name);
	if (have != NULL && have->role != role) {
		snprintf(err, errlen, "%s is enrolled here as %s: not changed",
			 name, role_word(have->role));
		return -1;
	}
	if (pk == NULL && have == NULL)
		return 0; /* removed, and not here */
	if (pk == NULL && role == BC_ROLE_ADMIN && count_role(c, BC_ROLE_ADMIN) <= 1) {
		snprintf(err, errlen, "%s is the last admin here: not removed", name);
		return -1;
	}
	if (pk != NULL && have != NULL && memcmp(have->pk, pk, 32) == 0)
		return 0; /* enrolled here already, with this key */
	if (pk != NULL) {
		struct bc_peer *other;

		bc_key_id(pk, id);
		bc_key_fingerprint(id, sizeof(id), fpr);
		other = bc_keyring_find_id(&c->ring, id, sizeof(id));
		if (other != NULL && other != have) {
			snprintf(err, errlen, "key %s is enrolled here as %s %s: "
				 "not changed", fpr, role_word(other->role), other->name);
			return -1;
		}
		if (memcmp(pk, c->signer.key.pk, 32) == 0) {
			snprintf(err, errlen, "key %s is the coordinator's own key", fpr);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
	/* the file there, loaded or not, gives way to what etcd holds */
	if (set_aside(dir, name, path, aside, sizeof(aside), &moved, err,
		      errlen) < 0)
		return -1;
	if (pk != NULL && bc_key_install_public(path, pk, e, sizeof(e)) < 0) {
		write_error(dir, path, errno, err, errlen);
		goto undo;
	}
	if (bc_coord_reload_keys(c, e, sizeof(e)) < 0) {
		if (pk != NULL)
			unlink(path);
		snprintf(err, errlen, "the key directories do not load: %s", e);
		goto undo;
	}
	if (moved && unlink(aside) < 0)
		bc_warn("enrolment: %s: %s", aside, strerror(errno));
	if (pk != NULL)
		bc_info("enrolment: cluster: %s %s (key %s) as %s", role_word(role),
			name, fpr, path);
	else
		bc_info("enrolment: cluster: %s %s removed (%s)", role_word(role),
			name, path);
	return 0;
undo:
	if (moved && rename(aside, path) < 0)
		bc_warn("enrolment: %s could not be put back from %s: %s", path,
			aside, strerror(errno));
	return -1;
}

int bc_coord_enrol(struct bc_coord *c, const struct bc_peer *from,
		   const Bancluster__AdminReq *rq, Bancluster__AdminReply *r,
		   struct bc_arena *ar, char *err, size_t errlen)
{
	char admin[BC_NAME_MAX];

	/* from points into the ring that add and remove replace */
	snprintf(admin, sizeof(admin), "%s", from->name);
	switch (rq->cmd_case) {
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_ADD:
		return enrol_add(c, admin, rq->enrol_add, r, ar, err, errlen);
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_REMOVE:
		return enrol_remove(c, admin, rq->enrol_remove, r, ar, err, errlen);
	case BANCLUSTER__ADMIN_REQ__CMD_ENROL_LIST:
		return enrol_list(c, (int)rq->enrol_list->role, r, ar, err, errlen);
	default:
		snprintf(err, errlen, "unknown command");
		return -1;
	}
}
