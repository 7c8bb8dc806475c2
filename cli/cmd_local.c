/*
 * cmd_local.c - the commands that need no coordinator and no admin key:
 *   keygen --out PATH        a key pair: PATH.key (0600) and PATH.pub;
 *                            prints the public key, its fingerprint and
 *                            the `admin add` line that enrols it
 *   report ADDR --kind KIND [--count N] [--service NAME] [--socket PATH]
 *                            one event to this host's agent
 *
 * report builds the local datagram and checks it with the agent's own
 * parser (proto/localmsg.c, bc_local_parse) before sending, one event per
 * datagram, and waits for the agent's "ok"; any other answer is printed
 * escaped, exit 1. A missing agent is EX_UNAVAILABLE, a bad argument
 * EX_USAGE, a key that cannot be written 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/event.h"
#include "common/keys.h"
#include "common/log.h"
#include "proto/localmsg.h"

/*
 * The directory PATH.key goes into: made (mode 0750) when it is missing
 * and its own parent exists, as /etc/bancluster on a fresh host; a
 * deeper missing path is named, not created.
 */
static int keygen_dir(const char *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s", out) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "--out: path too long");
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0; /* the current directory or / */
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%.400s: not a directory", dir);
		return -1;
	}
	if (errno != ENOENT || mkdir(dir, 0750) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%.400s: missing, and so is its parent directory: create it first",
				 dir);
		else
			snprintf(err, errlen, "%.400s: %s", dir, strerror(errno));
		return -1;
	}
	fprintf(stderr, "bancluster: created directory %s (mode 0750)\n", dir);
	return 0;
}

int bc_cmd_keygen(int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
					  {NULL, 0, NULL, 0}};
	const char *out = NULL, *name;
	char err[512], b64[BC_KEY_B64_LEN], fpr[BC_KEY_FPR_LEN];
	uint8_t pk[32], id[BC_KEY_ID_BYTES];
	int ch;

	while ((ch = getopt_long(argc, argv, "o:", o, NULL)) != -1) {
		if (ch == 'o')
			out = optarg;
		else
			bc_cli_usage();
	}
	if (out == NULL || optind != argc)
		bc_cli_usage_exit("%s", "keygen: --out PATH is required");
	if (keygen_dir(out, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_ERROR, "keygen: %s", err);
	if (bc_key_generate_as(out, (uid_t)-1, (gid_t)-1, pk, err, sizeof(err)) < 0)
		bc_fatal(BC_EXIT_ERROR, "keygen: %s", err);
	bc_key_id(pk, id);
	name = strrchr(out, '/') != NULL ? strrchr(out, '/') + 1 : out;
	printf("wrote %s.key (secret, mode 0600) and %s.pub\n", out, out);
	printf("public key:  %s\n", bc_key_public_b64(pk, b64));
	printf("fingerprint: %s\n", bc_key_fingerprint(id, sizeof(id), fpr));
	/* an admin key's file name is the admin's name (request.c) */
	if (bc_name_valid(name))
		printf("enrol it as an admin (on a host whose admin key is enrolled):\n"
		       "  bancluster admin add %s %s\n", name, b64);
	return 0;
}

/*
 * report ADDR --kind KIND: hand one event to the agent on this host
 * through its local socket (for fail2ban's bancluster action and other
 * tools). The agent counts it locally and reports it, signed, to the
 * coordinator. No admin key involved.
 */
int bc_cmd_report(int argc, char **argv)
{
	static const struct option o[] = {
		{"kind", required_argument, NULL, 'k'},
		{"service", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"count", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0}};
	const char *kind = NULL, *service = "report";
	uint64_t count = 1, sent;
	const char *path = "/var/lib/bancluster/" BC_LOCAL_SOCKET;
	struct sockaddr_un sa, self;
	struct bc_event ev;
	struct timeval tv = {2, 0};
	char msg[BC_LOCAL_MSG_MAX + 1], err[200], reply[256];
	ssize_t n;
	int ch, fd, len;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kind = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'S':
			path = optarg;
			break;
		case 'c':
			if (bc_parse_u64(optarg, 1, 1000, &count) < 0)
				bc_cli_usage_exit("report: --count \"%s\": expected 1..1000", optarg);
			break;
		default:
			bc_cli_usage();
		}
	}
	if (optind != argc - 1 || kind == NULL)
		bc_cli_usage_exit("report: expected ADDR --kind KIND");
	len = snprintf(msg, sizeof(msg), "%s %s %s", argv[optind], kind, service);
	if (len < 0 || len >= (int)sizeof(msg) ||
	    bc_local_parse(msg, (size_t)len, &ev, err, sizeof(err)) < 0)
		bc_cli_usage_exit("report: %s", len >= (int)sizeof(msg) ? "arguments too long" : err);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	    (int)sizeof(sa.sun_path))
		bc_cli_usage_exit("report: --socket \"%s\": path too long", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&self, 0, sizeof(self));
	self.sun_family = AF_UNIX;
	/* autobind: an abstract address the agent can answer to */
	if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		bc_fatal(BC_EXIT_ERROR, "report: socket: %s", strerror(errno));
	for (sent = 0; sent < count; sent++) { /* one event per datagram */
		if (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) < 0)
			bc_fatal(EX_UNAVAILABLE,
				 "report: agent socket %s: %s (is the agent running?)",
				 path, strerror(errno));
		n = recv(fd, reply, sizeof(reply) - 1, 0);
		if (n < 0)
			bc_fatal(EX_UNAVAILABLE, "report: no answer from the agent at %s",
				 path);
		reply[n] = '\0';
		if (strcmp(reply, "ok") != 0) {
			char e[600];

			bc_printable(e, sizeof(e), reply, (size_t)n);
			fprintf(stderr, "bancluster: report: %s\n", e);
			close(fd);
			return BC_EXIT_ERROR;
		}
	}
	close(fd);
	return 0;
}

