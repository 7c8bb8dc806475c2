/*
 * test_request.c - cli/request.c: loading cli.ini and the keys, and the
 * status and one-line error every failure comes back with (the command
 * prints it and exits with the status), against real key files in a
 * private temporary directory and a coordinator endpoint nobody serves.
 *
 * The link wraps bc_keyring_add (Makefile: -Wl,--wrap=bc_keyring_add)
 * so a test can make it fail as it does when memory runs out.
 */
#include "cli/cli.h"
#include "common/clock.h"
#include "common/keys.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ERRLEN 1024
#define PATHBUF 512

int __real_bc_keyring_add(struct bc_keyring *kr, const struct bc_peer *p);
int __wrap_bc_keyring_add(struct bc_keyring *kr, const struct bc_peer *p);

static bool keyring_add_fails;

int __wrap_bc_keyring_add(struct bc_keyring *kr, const struct bc_peer *p)
{
	if (keyring_add_fails)
		return -1; /* as realloc failing: nothing added */
	return __real_bc_keyring_add(kr, p);
}

static char tmpdir[] = "/tmp/bc-request.XXXXXX";
static char ini[PATHBUF];

static void write_ini(const char *coordinator)
{
	FILE *f = fopen(ini, "w");

	if (f == NULL)
		return;
	fprintf(f, "[cli]\ncoordinator = %s\nkey = admin.key\n"
		   "coordinator_key = coordinator.pub\ntimeout = 1s\n",
		coordinator);
	fclose(f);
}

static void test_load(void)
{
	struct bc_cli c;
	char err[ERRLEN] = "";
	int rc;

	memset(&c, 0, sizeof(c));
	c.cfgpath = ini;
	rc = bc_cli_load(&c, err, sizeof(err));
	CHECK(rc == 0, "load: cli.ini and both keys (got %d: %s)", rc, err);
	CHECK(c.loaded == 1 && c.coord.n == 1, "load: the coordinator's key is the one pinned");
	CHECK(strcmp(c.signer.sender, "admin") == 0,
	      "load: sender id is the key file's name (got \"%s\")", c.signer.sender);
	rc = bc_cli_load(&c, err, sizeof(err));
	CHECK(rc == 0 && c.coord.n == 1, "load: a second call loads nothing again");
	bc_cli_free(&c);
	CHECK(c.coord.n == 0 && c.loaded == 0, "free: ring released");
}

static void test_load_missing(void)
{
	struct bc_cli c;
	char err[ERRLEN] = "", path[PATHBUF];
	int rc;

	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/none.ini", tmpdir);
	c.cfgpath = path;
	rc = bc_cli_load(&c, err, sizeof(err));
	CHECK(rc == EX_CONFIG, "missing cli.ini: EX_CONFIG (got %d)", rc);
	CHECK(strstr(err, "none.ini") != NULL && strchr(err, '\n') == NULL,
	      "missing cli.ini: one line naming the file (\"%s\")", err);
	bc_cli_free(&c);
}

/*
 * The coordinator's key cannot be kept (bc_keyring_add fails): a config
 * error naming coordinator_key, not a load that "worked" with an empty
 * ring whose v[0] the request then reads.
 */
static void test_keyring_add_fails(void)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	struct bc_cli c;
	char err[ERRLEN] = "";
	int rc, status = 0;

	memset(&c, 0, sizeof(c));
	c.cfgpath = ini;
	keyring_add_fails = true;
	rc = bc_cli_load(&c, err, sizeof(err));
	CHECK(rc == EX_CONFIG, "keyring_add fails: load returns EX_CONFIG (got %d)", rc);
	CHECK(strstr(err, "coordinator_key") != NULL && strstr(err, ini) != NULL &&
		      strchr(err, '\n') == NULL,
	      "keyring_add fails: one line naming cli.ini and coordinator_key (\"%s\")",
	      err);
	CHECK(c.loaded == 0 && c.coord.n == 0, "keyring_add fails: nothing counts as loaded");
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	err[0] = '\0';
	if (rc == EX_CONFIG) /* before the fix this read coord.v[0] of an empty ring */
		r = bc_cli_request(&c, &rq, &status, err, sizeof(err));
	else
		r = NULL, status = -1;
	CHECK(r == NULL && status == EX_CONFIG,
	      "keyring_add fails: the request stops with EX_CONFIG (got %d: %s)", status, err);
	keyring_add_fails = false;
	bc_cli_free(&c);
}

/* Nobody listens: EX_UNAVAILABLE after [cli] timeout, with the hint. */
static void test_no_answer(void)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	struct bc_cli c;
	char err[ERRLEN] = "";
	int status = 0;

	memset(&c, 0, sizeof(c));
	c.cfgpath = ini;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	r = bc_cli_request(&c, &rq, &status, err, sizeof(err));
	CHECK(r == NULL && status == EX_UNAVAILABLE,
	      "no coordinator: EX_UNAVAILABLE (got %d)", status);
	CHECK(strcmp(err, "coordinator tcp://127.0.0.1:9: no connection within 1s: "
		      "it is not running or not reachable at that address") == 0,
	      "no coordinator: names endpoint, timeout and the one cause left (\"%s\")", err);
	bc_cli_free(&c);
}

/* a status request to cli.ini's coordinator list; its time in *ms */
static Bancluster__Payload *ask_status(struct bc_cli *c, int *status, char *err,
				       int64_t *ms)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	Bancluster__Payload *r;
	int64_t t0;

	memset(c, 0, sizeof(*c));
	c->cfgpath = ini;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	t0 = bc_mono_ms();
	r = bc_cli_request(c, &rq, status, err, ERRLEN);
	*ms = bc_mono_ms() - t0;
	return r;
}

/*
 * A list where no coordinator answers: one line naming each endpoint and
 * why, EX_UNAVAILABLE. A refused connection is left at once; a listener
 * that never speaks CurveZMQ gets its share of the timeout (1 s: the
 * least, timeout 1s over two endpoints).
 */
static void test_list_none(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct bc_cli c;
	char err[ERRLEN] = "", want[ERRLEN], list[128];
	int status = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
	int64_t ms;

	write_ini("tcp://127.0.0.1:9, tcp://127.0.0.1:19");
	CHECK(ask_status(&c, &status, err, &ms) == NULL && status == EX_UNAVAILABLE,
	      "list, both refused: EX_UNAVAILABLE (got %d)", status);
	CHECK(strcmp(err, "no coordinator answered: tcp://127.0.0.1:9 (connection "
		      "refused or unreachable), tcp://127.0.0.1:19 (connection "
		      "refused or unreachable)") == 0,
	      "list, both refused: one line naming each and why (\"%s\")", err);
	CHECK(ms < 900, "list, both refused: left at once, not after the timeout (%lld ms)",
	      (long long)ms);
	bc_cli_free(&c);

	/* a TCP listener that never answers: connected, no handshake */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 8) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		CHECK(0, "list: a silent listener (%s)", strerror(errno));
		return;
	}
	snprintf(list, sizeof(list), "tcp://127.0.0.1:%u,tcp://127.0.0.1:9",
		 (unsigned)ntohs(sa.sin_port));
	write_ini(list);
	CHECK(ask_status(&c, &status, err, &ms) == NULL && status == EX_UNAVAILABLE,
	      "list, silent and refused: EX_UNAVAILABLE (got %d)", status);
	snprintf(want, sizeof(want), "no coordinator answered: tcp://127.0.0.1:%u "
		 "(connected, no CurveZMQ handshake in 1 s), tcp://127.0.0.1:9 "
		 "(connection refused or unreachable)", (unsigned)ntohs(sa.sin_port));
	CHECK(strcmp(err, want) == 0, "list, silent listener: its share of the "
	      "timeout, then the next (\"%s\")", err);
	CHECK(ms >= 950 && ms < 1900, "list, silent listener: about 1 s in all (%lld ms)",
	      (long long)ms);
	bc_cli_free(&c);
	close(fd);

	/* a bad endpoint in a list set by hand, beside a refused one */
	write_ini("tcp://127.0.0.1:9");
	memset(&c, 0, sizeof(c));
	c.cfgpath = ini;
	if (bc_cli_load(&c, err, sizeof(err)) == 0) {
		Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
		Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;

		rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
		rq.status = &sc;
		snprintf(c.cfg.coordinator, sizeof(c.cfg.coordinator),
			 "tcp://,tcp://127.0.0.1:9");
		CHECK(bc_cli_request(&c, &rq, &status, err, sizeof(err)) == NULL &&
			      status == EX_UNAVAILABLE &&
			      strcmp(err, "no coordinator answered: tcp:// (bad endpoint: "
				     "Invalid argument), tcp://127.0.0.1:9 (connection "
				     "refused or unreachable)") == 0,
		      "list with an endpoint zmq refuses: named, the next tried (%d: %s)",
		      status, err);
	}
	bc_cli_free(&c);
	write_ini("tcp://127.0.0.1:9");
}

static void test_bad_endpoint(void)
{
	Bancluster__AdminReq rq = BANCLUSTER__ADMIN_REQ__INIT;
	Bancluster__StatusCmd sc = BANCLUSTER__STATUS_CMD__INIT;
	struct bc_cli c;
	char err[ERRLEN] = "";
	int status = 0;

	memset(&c, 0, sizeof(c));
	c.cfgpath = ini;
	rq.cmd_case = BANCLUSTER__ADMIN_REQ__CMD_STATUS;
	rq.status = &sc;
	if (bc_cli_load(&c, err, sizeof(err)) == 0) {
		/* an endpoint the loader let through but zmq refuses */
		snprintf(c.cfg.coordinator, sizeof(c.cfg.coordinator), "tcp://");
		CHECK(bc_cli_request(&c, &rq, &status, err, sizeof(err)) == NULL &&
			      status == EX_CONFIG && strstr(err, "coordinator \"tcp://\"") != NULL,
		      "endpoint zmq refuses: EX_CONFIG naming it (got %d: %s)", status, err);
	} else {
		CHECK(0, "endpoint zmq refuses: load failed: %s", err);
	}
	bc_cli_free(&c);
}

int main(void)
{
	char path[PATHBUF], err[ERRLEN];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ini, sizeof(ini), "%s/cli.ini", tmpdir);
	snprintf(path, sizeof(path), "%s/admin", tmpdir);
	CHECK(bc_key_generate(path, err, sizeof(err)) == 0, "keygen admin");
	snprintf(path, sizeof(path), "%s/coordinator", tmpdir);
	CHECK(bc_key_generate(path, err, sizeof(err)) == 0, "keygen coordinator");
	write_ini("tcp://127.0.0.1:9");
	test_load();
	test_load_missing();
	test_keyring_add_fails();
	test_no_answer();
	test_bad_endpoint();
	test_list_none();
	{
		static const char *const files[] = {"cli.ini", "admin.key", "admin.pub",
						    "coordinator.key", "coordinator.pub"};
		size_t i;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
			unlink(path);
		}
		rmdir(tmpdir);
	}
	return tap_done();
}
