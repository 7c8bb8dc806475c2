/*
 * split.c - privilege separation at start (split.h): fork the firewall
 * process and the reader from the root process, hand each its own
 * context (agent.h) and nothing else, and drop every process to what its
 * job needs, in the fixed order of agent/privsep.h, fatal on any failure.
 *
 *   firewall  CAP_NET_ADMIN and the netlink socket; Landlock: no file,
 *             no TCP, no signal.
 *   reader    opens its sources and parsers itself as the unprivileged
 *             user, then Landlock: read only the sources' directories,
 *             write only its cursors; it must not be able to open the
 *             secret key (checked: the agent stops if it can).
 *   signer    this process: the unprivileged user, no capability.
 *
 * The secret key is wiped from both children's memory right after the
 * fork; the signer closes the netlink handle and the local socket. Runs
 * before ZeroMQ exists: its threads must not be forked.
 */
#include "agent/split.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/local.h"
#include "agent/reader.h"
#include "agent/source.h"
#include "common/log.h"

/*
 * The reader opens its sources itself, as the unprivileged user: after a
 * rotation it must reopen the new file with the same rights anyway, and
 * an inotify instance shared with another process would lose its
 * watches when that process closed it.
 */
static void open_sources(struct bc_agent_reader *r)
{
	char err[512];
	size_t i;

	for (i = 0; i < r->nsources; i++) {
		enum bc_format fmt = BC_FMT_AUTO;

		bc_format_parse(r->sources[i].format, &fmt); /* checked */
		r->parser[i] = bc_parser_new(fmt);
		if (r->parser[i] == NULL)
			bc_fatal(1, "out of memory");
		if (bc_parser_set_detect(r->parser[i], &r->detect) < 0)
			bc_fatal(1, "[detect]: settings out of bounds");
		r->src[i] = bc_source_open(&r->sources[i], r->cursor_dir,
					   err, sizeof(err));
		if (r->src[i] == NULL)
			bc_fatal(1, "%s", err);
		if (bc_source_notice(r->src[i])[0] != '\0')
			bc_warn("source %s: %s", r->sources[i].name,
				bc_source_notice(r->src[i]));
	}
}

/* The directory of PATH into out[PATH_MAX] ("." for a bare name); -1 if
 * it does not fit. */
static int dir_of(char *out, const char *path)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(out, PATH_MAX, ".");
	else if (slash == path)
		n = snprintf(out, PATH_MAX, "/");
	else
		n = snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/*
 * Confine the reader with Landlock: read only where its sources are (the
 * directory of each file, and of the file a symlink names now; the
 * journal's directories), write only its cursors. A directory missing at
 * start is left out, with a warning (the system journal's
 * /var/log/journal may well be absent). Time zone loaded first: mktime
 * must not need /etc/localtime afterwards.
 */
static int confine_reader(const struct bc_agent_reader *r, char *err,
			  size_t errlen)
{
	enum { MAXD = 2 * BC_AGENT_MAX_SOURCES };
	static char dirs[MAXD][PATH_MAX];
	const char *list[MAXD];
	bool missing[MAXD], quiet[MAXD];
	char real[PATH_MAX];
	size_t i, n = 0;
	int rc;

	tzset();
	for (i = 0; i < r->nsources; i++) {
		const struct bc_source_cfg *sc = &r->sources[i];
		struct stat st;
		bool is_dir;

		if (strcmp(sc->type, "stdin") == 0)
			continue;
		if (sc->path[0] == '\0') { /* the system journal */
			quiet[n] = true;
			snprintf(dirs[n++], PATH_MAX, "/run/log/journal");
			quiet[n] = true;
			snprintf(dirs[n++], PATH_MAX, "/var/log/journal");
			continue;
		}
		is_dir = strcmp(sc->type, "journal") == 0 && stat(sc->path, &st) == 0 &&
			 S_ISDIR(st.st_mode);
		quiet[n] = false;
		if (is_dir)
			snprintf(dirs[n++], PATH_MAX, "%s", sc->path);
		else if (dir_of(dirs[n++], sc->path) < 0)
			goto toolong;
		/* a symlink: the directory of the file it names now, too */
		if (!is_dir && realpath(sc->path, real) != NULL) {
			quiet[n] = false;
			if (dir_of(dirs[n++], real) < 0)
				goto toolong;
		}
	}
	for (i = 0; i < n; i++) {
		list[i] = dirs[i];
		missing[i] = false;
	}
	rc = bc_privsep_confine(list, n, missing, r->cursor_dir, err, errlen);
	for (i = 0; rc >= 0 && i < n; i++)
		if (missing[i] && !quiet[i])
			bc_warn("reader: %s does not exist: logs that appear there "
				"later cannot be read until a restart",
				dirs[i]);
	return rc;
toolong:
	snprintf(err, errlen, "a source's directory is longer than %d bytes",
		 PATH_MAX);
	return -1;
}

/*
 * The reader keeps its cursors in <state_dir>/cursors, the one directory
 * it may write to: the signer's counter and the local socket stay out of
 * its reach. A cursor left in state_dir by an older agent moves there.
 */
static void make_cursor_dir(struct bc_agent_reader *r, const char *state_dir)
{
	size_t i;

	snprintf(r->cursor_dir, sizeof(r->cursor_dir), "%s/%s", state_dir,
		 BC_AGENT_CURSOR_DIR);
	if (mkdir(r->cursor_dir, 0700) < 0 && errno != EEXIST)
		bc_fatal(1, "%s: %s", r->cursor_dir, strerror(errno));
	for (i = 0; i < r->nsources; i++) {
		char from[BC_CFG_STR_MAX + 96], to[BC_CFG_STR_MAX + 112];
		struct stat st;

		snprintf(from, sizeof(from), "%s/source-%s.cursor", state_dir,
			 r->sources[i].name);
		snprintf(to, sizeof(to), "%s/source-%s.cursor", r->cursor_dir,
			 r->sources[i].name);
		if (lstat(to, &st) < 0 && errno == ENOENT &&
		    lstat(from, &st) == 0 && rename(from, to) == 0)
			bc_info("source %s: cursor moved to %s", r->sources[i].name,
				to);
	}
}

/* lchown DIR/NAME, fatal on failure */
static void give(const char *dir, const char *name,
		 const struct bc_privsep_user *u)
{
	char p[BC_CFG_STR_MAX + 300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (lchown(p, u->uid, u->gid) < 0)
		bc_fatal(1, "%s: %s", p, strerror(errno));
}

/* state_dir and what is in it belong to the unprivileged user */
static void chown_state(const struct bc_agent_cfg *cfg, const char *cursor_dir,
			const struct bc_privsep_user *u)
{
	DIR *d = opendir(cfg->state_dir);
	struct dirent *de;

	if (d == NULL || chown(cfg->state_dir, u->uid, u->gid) < 0)
		bc_fatal(1, "%s: %s", cfg->state_dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		/* only the agent's own files: the coordinator may share the dir */
		if (strcmp(de->d_name, BC_LOCAL_SOCKET) == 0 ||
		    strcmp(de->d_name, BC_AGENT_CURSOR_DIR) == 0 ||
		    strncmp(de->d_name, "source-", 7) == 0 ||
		    strncmp(de->d_name, cfg->id, strlen(cfg->id)) == 0)
			give(cfg->state_dir, de->d_name, u);
	closedir(d);
	d = opendir(cursor_dir);
	if (d == NULL)
		bc_fatal(1, "%s: %s", cursor_dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			give(cursor_dir, de->d_name, u);
	closedir(d);
}

/*
 * A child dies with the signer (SIGKILL). Set after the privilege drop: a
 * change of uid clears it; a signer gone before that is caught here.
 */
static void tie_to(pid_t signer)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != signer)
		_exit(1);
}

/*
 * Privilege separation: fork the firewall process (CAP_NET_ADMIN and the
 * netlink socket, nothing else) and the reader (sources, parsers, local
 * report socket; no capability, no key), then drop this process (the
 * signer: key and ZeroMQ) to the unprivileged user without capability.
 * Before ZeroMQ exists: its threads must not be forked.
 */
void bc_split_processes(struct bc_agent_signer *a, struct bc_agent_reader *r,
			struct bc_agent_firewall *f,
			const struct bc_privsep_user *up)
{
	const struct bc_privsep_user u = *up;
	pid_t signer;
	int fsp[2], rsp[2];
	char err[256], key[BC_CFG_STR_MAX + 8];

	make_cursor_dir(r, a->cfg.state_dir);
	if (u.set && !u.already)
		chown_state(&a->cfg, r->cursor_dir, &u);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fsp) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rsp) < 0)
		bc_fatal(1, "socketpair: %s", strerror(errno));
	fflush(NULL);
	signer = getpid();
	a->fw_pid = fork();
	if (a->fw_pid < 0)
		bc_fatal(1, "fork: %s", strerror(errno));
	if (a->fw_pid == 0) {
		int ll;

		close(fsp[0]);
		close(rsp[0]);
		close(rsp[1]);
		close(r->local_fd);
		bc_key_wipe(&a->signer.key);
		prctl(PR_SET_NAME, "bc-firewall", 0, 0, 0);
		signal(SIGTERM, SIG_IGN); /* ends when the signer closes */
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (bc_privsep_drop(&u, true, err, sizeof(err)) < 0)
			bc_fatal(1, "firewall process: %s", err);
		tie_to(signer);
		/* netlink only from here: no file at all, no TCP, no signal */
		ll = bc_privsep_confine(NULL, 0, NULL, NULL, err, sizeof(err));
		if (ll < 0)
			bc_fatal(1, "firewall process: %s", err);
		bc_info("firewall: uid %u, capabilities %llx, landlock %s",
			(unsigned)getuid(), bc_privsep_capeff(),
			ll == 1 ? "on" : "unavailable");
		bc_fwr_serve(f->fw, fsp[1]);
	}
	a->rd_pid = fork();
	if (a->rd_pid < 0)
		bc_fatal(1, "fork: %s", strerror(errno));
	if (a->rd_pid == 0) {
		int kfd, ll;

		close(fsp[0]);
		close(fsp[1]);
		close(rsp[0]);
		bc_fw_close(&f->fw);
		bc_key_wipe(&a->signer.key);
		prctl(PR_SET_NAME, "bc-reader", 0, 0, 0);
		if (bc_privsep_drop(&u, false, err, sizeof(err)) < 0)
			bc_fatal(1, "reader process: %s", err);
		tie_to(signer);
		open_sources(r);
		ll = confine_reader(r, err, sizeof(err));
		if (ll < 0)
			bc_fatal(1, "reader process: %s", err);
		if (bc_key_secret_path(a->cfg.key, key, sizeof(key)) < 0)
			bc_fatal(1, "reader process: %s: path too long", a->cfg.key);
		kfd = open(key, O_RDONLY | O_CLOEXEC);
		if (kfd >= 0 && (u.set || ll == 1))
			bc_fatal(1, "reader process can read %s: privilege separation failed%s",
				 key, ll == 1 ? "" : " (no Landlock in this kernel: make the "
				 "key readable by its owner only, and start as root)");
		if (kfd >= 0)
			close(kfd);
		bc_info("reader: uid %u, capabilities %llx, landlock %s, key file %s",
			(unsigned)getuid(), bc_privsep_capeff(),
			ll == 1 ? "on" : "unavailable",
			kfd < 0 ? "out of reach" : "readable (no [agent] user set)");
		bc_reader_serve(r, rsp[1]);
	}
	close(fsp[1]);
	close(rsp[1]);
	a->fwr.fd = fsp[0];
	a->rd_fd = rsp[0];
	bc_fw_close(&f->fw);
	close(r->local_fd);
	r->local_fd = -1;
	if (bc_privsep_drop(&u, false, err, sizeof(err)) < 0)
		bc_fatal(1, "signer process: %s", err);
	bc_info("processes: signer %d (uid %u), reader %d, firewall %d",
		(int)getpid(), (unsigned)getuid(), (int)a->rd_pid, (int)a->fw_pid);
}
