/*
 * config.c - INI files through inih, validated against a key table.
 *
 * The file is trusted more than the network but still checked strictly:
 * every value is parsed anchored at both ends and bounded. Nothing is
 * printed here; the caller prints the one-line error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"

#define INI_LINE_MAX 200 /* inih's INI_MAX_LINE as Debian builds it */

struct load_ctx {
	const struct bc_cfg_key *keys;
	size_t nkeys;
	void *obj;
	bc_cfg_extra_fn extra;
	char dir[BC_CFG_STR_MAX];
	bool seen[BC_CFG_MAX_KEYS]; /* in the file being read */
	bool set[BC_CFG_MAX_KEYS];  /* in any file read so far */
	char err[512];
	struct bc_cfg_dropins dropins;
};

int bc_cfg_path(char *out, const char *value, const char *dir)
{
	int n;

	if (value[0] == '/' || dir[0] == '\0')
		n = snprintf(out, BC_CFG_STR_MAX, "%s", value);
	else
		n = snprintf(out, BC_CFG_STR_MAX, "%s/%s", dir, value);
	return n < 0 || n >= BC_CFG_STR_MAX ? -1 : 0;
}

static int parse_ports(struct bc_cfg_ports *p, const char *v, char *err,
		       size_t errlen)
{
	const char *s = v;

	memset(p, 0, sizeof(*p));
	if (strcmp(v, "all") == 0) {
		p->all = true;
		return 0;
	}
	for (;;) {
		char num[8];
		size_t len;
		uint64_t port;

		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		len = strcspn(s, " ,\t");
		if (len >= sizeof(num) || p->n == BC_CFG_MAX_PORTS) {
			snprintf(err, errlen, "bad port list \"%.64s\"", v);
			return -1;
		}
		memcpy(num, s, len);
		num[len] = '\0';
		if (bc_parse_u64(num, 1, 65535, &port) < 0) {
			snprintf(err, errlen,
				 "expected ports 1..65535 or \"all\", got \"%s\"",
				 num);
			return -1;
		}
		p->port[p->n++] = (uint16_t)port;
		s += len;
	}
	if (p->n == 0) {
		snprintf(err, errlen, "empty port list");
		return -1;
	}
	return 0;
}

/* a character of a host name, an interface name or an IPv4 address */
static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

#define EP_SCHEME "tcp://"
#define EP_EXPECT "expected tcp://HOST:PORT with PORT 1..65535"

int bc_cfg_endpoint(const char *value, bool bind, char *host, size_t hostlen,
		    uint16_t *port, char *err, size_t errlen)
{
	const char *h, *hend, *colon, *hint = "";
	char hb[BC_CFG_STR_MAX];
	uint64_t p;
	size_t hl, i;
	bool digits_dots = true;

	if (strlen(value) >= BC_CFG_STR_MAX ||
	    strncmp(value, EP_SCHEME, strlen(EP_SCHEME)) != 0)
		goto bad;
	h = value + strlen(EP_SCHEME);
	if (*h == '[') { /* [IPv6]:PORT, maybe with a %scope */
		hend = strchr(h, ']');
		if (hend == NULL || hend[1] != ':')
			goto bad;
		colon = hend + 1;
		h++;
		hl = (size_t)(hend - h);
		memcpy(hb, h, hl);
		hb[hl] = '\0';
		{
			char *pct = strchr(hb, '%');
			struct in6_addr a6;

			if (pct != NULL) {
				*pct = '\0';
				for (i = 1; pct[i] != '\0'; i++)
					if (!host_char(pct[i]))
						goto bad;
				if (i == 1)
					goto bad;
			}
			if (inet_pton(AF_INET6, hb, &a6) != 1)
				goto bad;
			if (pct != NULL)
				*pct = '%';
		}
	} else {
		colon = strrchr(h, ':');
		if (colon == NULL || colon == h)
			goto bad;
		hl = (size_t)(colon - h);
		memcpy(hb, h, hl);
		hb[hl] = '\0';
		if (strchr(hb, ':') != NULL) {
			struct in6_addr a6;

			if (inet_pton(AF_INET6, hb, &a6) == 1)
				hint = " (an IPv6 address goes in brackets: tcp://[::1]:7710)";
			goto bad;
		}
		if (strcmp(hb, "*") == 0) {
			if (!bind) {
				hint = " (\"*\" only binds: name the host to connect to)";
				goto bad;
			}
		} else {
			for (i = 0; i < hl; i++) {
				if (!host_char(hb[i]))
					goto bad;
				if (hb[i] != '.' && (hb[i] < '0' || hb[i] > '9'))
					digits_dots = false;
			}
			if (digits_dots) { /* then it must be an IPv4 address */
				struct in_addr a4;

				if (inet_pton(AF_INET, hb, &a4) != 1)
					goto bad;
			} else if (bind && if_nametoindex(hb) == 0) {
				/* ZeroMQ binds no DNS name: an interface then */
				hint = " (to bind, HOST is *, an address or an interface of this host)";
				goto bad;
			}
		}
	}
	if (bc_parse_u64(colon + 1, 1, 65535, &p) < 0)
		goto bad;
	if (host != NULL) {
		if (hl >= hostlen)
			goto bad;
		memcpy(host, hb, hl + 1);
	}
	if (port != NULL)
		*port = (uint16_t)p;
	return 0;
bad:
	snprintf(err, errlen, EP_EXPECT ", got \"%.200s\"%s", value, hint);
	return -1;
}

bool bc_cfg_endpoint_any(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcmp(host, "*") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       memcmp(&a6, &in6addr_any, sizeof(a6)) == 0;
}

/* "a, b ,c" -> "a,b,c", each a valid endpoint to connect to, no repeats */
static int parse_endpoints(const char *value, char *dst, char *err,
			   size_t errlen)
{
	char out[BC_CFG_STR_MAX] = "", one[BC_CFG_STR_MAX];
	char seen[BC_CFG_ENDPOINTS_MAX][BC_CFG_STR_MAX];
	const char *p = value;
	size_t n = 0, i;

	for (;;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		while (l > 0 && (*p == ' ' || *p == '\t'))
			p++, l--;
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == 0 || l >= sizeof(one)) {
			snprintf(err, errlen, "%s", l == 0 ?
				 "empty endpoint in the list (tcp://HOST:PORT, comma separated)" :
				 "endpoint too long");
			return -1;
		}
		memcpy(one, p, l);
		one[l] = '\0';
		if (bc_cfg_endpoint(one, false, NULL, 0, NULL, err, errlen) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (strcmp(seen[i], one) == 0) {
				snprintf(err, errlen, "%s is listed twice", one);
				return -1;
			}
		if (n == BC_CFG_ENDPOINTS_MAX) {
			snprintf(err, errlen, "more than %d endpoints",
				 BC_CFG_ENDPOINTS_MAX);
			return -1;
		}
		memcpy(seen[n++], one, l + 1);
		if (strlen(out) + l + 2 > sizeof(out)) {
			snprintf(err, errlen, "the list is longer than %d bytes",
				 BC_CFG_STR_MAX - 1);
			return -1;
		}
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, one);
		if (e == NULL)
			break;
		p = e + 1;
	}
	memcpy(dst, out, strlen(out) + 1);
	return 0;
}

size_t bc_cfg_endpoints_split(const char *list, char out[][BC_CFG_STR_MAX],
			      size_t max)
{
	size_t n = 0;
	const char *p = list;

	while (*p != '\0' && n < max) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l >= BC_CFG_STR_MAX)
			l = BC_CFG_STR_MAX - 1;
		if (l > 0) {
			memcpy(out[n], p, l);
			out[n++][l] = '\0';
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return n;
}

int bc_cfg_parse_value(const struct bc_cfg_key *k, void *obj,
		       const char *value, const char *dir, char *err,
		       size_t errlen)
{
	char *dst = (char *)obj + k->offset;

	switch (k->type) {
	case BC_CFG_STR:
		if (strlen(value) >= BC_CFG_STR_MAX ||
		    (k->max > 0 && strlen(value) > (size_t)k->max) ||
		    strlen(value) < (size_t)k->min) {
			snprintf(err, errlen,
				 "expected %g..%g characters, got \"%.64s\"",
				 k->min, k->max > 0 ? k->max : BC_CFG_STR_MAX - 1,
				 value);
			return -1;
		}
		memcpy(dst, value, strlen(value) + 1);
		return 0;
	case BC_CFG_PATH:
		if (value[0] == '\0' && k->def != NULL && k->def[0] == '\0') {
			dst[0] = '\0'; /* optional path left empty: off */
			return 0;
		}
		if (value[0] == '\0' || bc_cfg_path(dst, value, dir) < 0) {
			snprintf(err, errlen, "bad path \"%.64s\"", value);
			return -1;
		}
		return 0;
	case BC_CFG_INT: {
		const char *v = value;
		uint64_t u;
		bool neg = false;

		if (*v == '-') {
			neg = true;
			v++;
		}
		if (bc_parse_u64(v, 0, INT64_MAX, &u) < 0 ||
		    (neg ? -(double)u : (double)u) < k->min ||
		    (neg ? -(double)u : (double)u) > k->max) {
			snprintf(err, errlen, "expected %.0f..%.0f, got \"%.64s\"",
				 k->min, k->max, value);
			return -1;
		}
		*(int64_t *)(void *)dst = neg ? -(int64_t)u : (int64_t)u;
		return 0;
	}
	case BC_CFG_DUR: {
		int64_t s;
		char e[128], a[32], b[32];

		if (bc_duration_parse(value, &s, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s", e);
			return -1;
		}
		if ((double)s < k->min || (double)s > k->max) {
			snprintf(err, errlen, "expected %s..%s, got \"%.64s\"",
				 bc_duration_format((int64_t)k->min, a, sizeof(a)),
				 bc_duration_format((int64_t)k->max, b, sizeof(b)),
				 value);
			return -1;
		}
		*(int64_t *)(void *)dst = s;
		return 0;
	}
	case BC_CFG_NUM: {
		char *end;
		double d;

		errno = 0;
		d = strtod(value, &end);
		if (value[0] == '\0' || *end != '\0' || errno != 0 ||
		    !isfinite(d) || d < k->min || d > k->max) {
			snprintf(err, errlen, "expected %g..%g, got \"%.64s\"",
				 k->min, k->max, value);
			return -1;
		}
		*(double *)(void *)dst = d;
		return 0;
	}
	case BC_CFG_ADDRS: {
		struct bc_addr_list *l = (struct bc_addr_list *)(void *)dst;

		bc_addr_list_free(l);
		return bc_addr_list_parse(l, value, err, errlen);
	}
	case BC_CFG_PORTS:
		return parse_ports((struct bc_cfg_ports *)(void *)dst, value,
				   err, errlen);
	case BC_CFG_ENDPOINT:
	case BC_CFG_BIND:
		if (bc_cfg_endpoint(value, k->type == BC_CFG_BIND, NULL, 0, NULL,
				    err, errlen) < 0)
			return -1;
		memcpy(dst, value, strlen(value) + 1);
		return 0;
	case BC_CFG_ENDPOINTS:
		return parse_endpoints(value, dst, err, errlen);
	}
	snprintf(err, errlen, "internal: bad key type");
	return -1;
}

void bc_cfg_value(const char *value, char *v, size_t vlen)
{
	size_t i, vl;

	snprintf(v, vlen, "%s", value);
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '#' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t')) {
			v[i] = '\0';
			break;
		}
	}
	vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct load_ctx *c = user;
	char e[400], v[BC_CFG_STR_MAX * 4];
	size_t i;
	bool section_known = false;

	if (c->err[0] != '\0')
		return 0; /* report the first error only */
	/* "key = value   # comment": inih only knows ';' inline comments. */
	bc_cfg_value(value, v, sizeof(v));
	value = v;

	for (i = 0; i < c->nkeys; i++) {
		const struct bc_cfg_key *k = &c->keys[i];

		if (strcmp(k->section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(k->name, name) != 0)
			continue;
		if (c->seen[i]) {
			snprintf(c->err, sizeof(c->err),
				 "[%s] %s: set twice", section, name);
			return 0;
		}
		c->seen[i] = true;
		if (bc_cfg_parse_value(k, c->obj, value, c->dir, e,
				       sizeof(e)) < 0) {
			snprintf(c->err, sizeof(c->err), "[%s] %s: %s", section,
				 name, e);
			return 0;
		}
		return 1;
	}
	if (!section_known && c->extra != NULL) {
		if (c->extra(c->obj, section, name, value, c->dir, e,
			     sizeof(e)) < 0) {
			snprintf(c->err, sizeof(c->err), "[%s] %s: %s", section,
				 name, e);
			return 0;
		}
		return 1;
	}
	if (section_known)
		snprintf(c->err, sizeof(c->err), "[%s] %s: unknown key", section,
			 name);
	else if (section[0] == '\0')
		snprintf(c->err, sizeof(c->err), "%s: key outside any [section]",
			 name);
	else
		snprintf(c->err, sizeof(c->err), "[%s] %s: unknown section",
			 section, name);
	return 0;
}

/*
 * inih reads lines of at most INI_LINE_MAX - 1 characters and would
 * silently cut a longer one in two; refuse the file instead. Returns the
 * first long line's number or 0, with f rewound.
 */
static int long_line(FILE *f)
{
	int ch, line = 1, len = 0, bad = 0;

	while ((ch = getc(f)) != EOF) {
		if (ch == '\n') {
			line++;
			len = 0;
		} else if (++len >= INI_LINE_MAX && bad == 0) {
			bad = line;
		}
	}
	rewind(f);
	return bad;
}

/* ".ini" at the end of a name longer than that */
static bool ini_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

static int cmp_path(const void *x, const void *y)
{
	return strcmp(x, y); /* bytes, whatever the locale */
}

int bc_cfg_dropins(const char *path, struct bc_cfg_dropins *d, char *err,
		   size_t errlen)
{
	size_t pl = strlen(path);
	struct dirent *e;
	DIR *dh;
	int n;

	d->n = 0;
	if (ini_name(path))
		pl -= 4;
	n = snprintf(d->dir, sizeof(d->dir), "%.*s.d", (int)pl, path);
	if (n < 0 || (size_t)n >= sizeof(d->dir)) {
		snprintf(err, errlen, "%.200s.d: path too long", path);
		return -1;
	}
	dh = opendir(d->dir);
	if (dh == NULL) {
		if (errno == ENOENT)
			return 0; /* no drop-ins */
		snprintf(err, errlen, "%s: %s", d->dir, strerror(errno));
		return -1;
	}
	while ((errno = 0, e = readdir(dh)) != NULL) {
		char p[BC_CFG_STR_MAX];
		struct stat st;

		if (e->d_name[0] == '.' || !ini_name(e->d_name))
			continue;
		if (d->n == BC_CFG_DROPIN_MAX) {
			snprintf(err, errlen, "%s: more than %d drop-in files",
				 d->dir, BC_CFG_DROPIN_MAX);
			closedir(dh);
			return -1;
		}
		n = snprintf(p, sizeof(p), "%s/%s", d->dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(p)) {
			snprintf(err, errlen, "%s/%.64s: path too long", d->dir,
				 e->d_name);
			closedir(dh);
			return -1;
		}
		/* stat, not lstat: a symlink counts as what it names */
		if (stat(p, &st) < 0) { /* a dangling symlink too */
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			closedir(dh);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", p);
			closedir(dh);
			return -1;
		}
		memcpy(d->path[d->n], p, (size_t)n + 1);
		d->n++;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: %s", d->dir, strerror(errno));
		closedir(dh);
		return -1;
	}
	closedir(dh);
	qsort(d->path, d->n, sizeof(d->path[0]), cmp_path);
	return 0;
}

void bc_cfg_dropins_note(const char *path, char *out, size_t outlen)
{
	struct bc_cfg_dropins *d = malloc(sizeof(*d));
	size_t i, len, dl;
	char e[64];
	int n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (d == NULL || bc_cfg_dropins(path, d, e, sizeof(e)) < 0 || d->n == 0) {
		free(d);
		return;
	}
	dl = strlen(d->dir);
	n = snprintf(out, outlen, ", %zu drop-in%s in %s:", d->n,
		     d->n == 1 ? "" : "s", d->dir);
	for (i = 0; n >= 0 && (size_t)n < outlen && i < d->n; i++) {
		len = (size_t)n;
		n = snprintf(out + len, outlen - len, "%s %s", i ? "," : "",
			     d->path[i] + dl + 1);
		if (n >= 0)
			n += (int)len;
	}
	if (n < 0 || (size_t)n >= outlen) { /* cut: end with "..." */
		if (outlen > 4)
			memcpy(out + outlen - 4, "...", 4);
		else
			out[0] = '\0';
	}
	free(d);
}

/* Read one file (the main file or a drop-in) into c->obj. */
static int load_file(struct load_ctx *c, const char *path, char *err,
		     size_t errlen)
{
	size_t i;
	int line;
	FILE *f;

	memset(c->seen, 0, sizeof(c->seen));
	c->err[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = long_line(f);
	if (line > 0) {
		fclose(f);
		snprintf(err, errlen, "%s:%d: line longer than %d characters",
			 path, line, INI_LINE_MAX - 1);
		return -1;
	}
	line = ini_parse_file(f, handler, c);
	fclose(f);
	if (line != 0) {
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err), "syntax error");
		snprintf(err, errlen, "%s:%d: %s", path, line, c->err);
		return -1;
	}
	for (i = 0; i < c->nkeys; i++)
		c->set[i] = c->set[i] || c->seen[i];
	return 0;
}

int bc_cfg_defaults(const struct bc_cfg_key *keys, size_t nkeys, void *obj,
		    const char *dir, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < nkeys; i++) {
		char e[400];

		if (keys[i].def == NULL)
			continue;
		if (bc_cfg_parse_value(&keys[i], obj, keys[i].def, dir, e,
				       sizeof(e)) < 0) {
			snprintf(err, errlen, "internal default [%s] %s: %s",
				 keys[i].section, keys[i].name, e);
			return -1;
		}
	}
	return 0;
}

int bc_cfg_load(const char *path, const struct bc_cfg_key *keys, size_t nkeys,
		void *obj, bc_cfg_extra_fn extra, char *err, size_t errlen)
{
	struct load_ctx *c;
	const char *slash;
	size_t i;
	int rc = -1;

	if (nkeys > BC_CFG_MAX_KEYS) {
		snprintf(err, errlen, "internal: too many keys");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->keys = keys;
	c->nkeys = nkeys;
	c->obj = obj;
	c->extra = extra;
	slash = strrchr(path, '/');
	{
		char d[BC_CFG_STR_MAX], *abs;

		if (slash == path)
			snprintf(d, sizeof(d), "/");
		else if (slash != NULL)
			snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
		else
			snprintf(d, sizeof(d), ".");
		/* relative paths in the file become absolute */
		abs = realpath(d, NULL);
		snprintf(c->dir, sizeof(c->dir), "%s", abs ? abs : d);
		free(abs);
	}
	if (bc_cfg_defaults(keys, nkeys, obj, c->dir, err, errlen) < 0)
		goto out;
	if (load_file(c, path, err, errlen) < 0)
		goto out;
	/* listed after the main file was read: it must exist first */
	if (bc_cfg_dropins(path, &c->dropins, err, errlen) < 0)
		goto out;
	for (i = 0; i < c->dropins.n; i++)
		if (load_file(c, c->dropins.path[i], err, errlen) < 0)
			goto out;
	for (i = 0; i < nkeys; i++) {
		if (keys[i].def == NULL && !c->set[i]) {
			snprintf(err, errlen, "%s: [%s] %s: missing", path,
				 keys[i].section, keys[i].name);
			goto out;
		}
	}
	rc = 0;
out:
	free(c);
	return rc;
}

struct line_ctx {
	const char *section, *name;
};

/* "fails" on the key looked for: inih returns the first failing line */
static int line_handler(void *user, const char *section, const char *name,
			const char *value)
{
	const struct line_ctx *l = user;

	(void)value;
	return strcmp(section, l->section) != 0 || strcmp(name, l->name) != 0;
}

static int line_in(const char *path, const char *section, const char *name)
{
	struct line_ctx l = {section, name};
	FILE *f = fopen(path, "r");
	int line;

	if (f == NULL)
		return 0;
	line = ini_parse_file(f, line_handler, &l);
	fclose(f);
	return line > 0 ? line : 0;
}

/*
 * The file (path or a drop-in, into file) and line where [section] name
 * was last set; 0 with file = path when nowhere.
 */
static int where(const char *path, const char *section, const char *name,
		 char *file, size_t filelen)
{
	struct bc_cfg_dropins *d = malloc(sizeof(*d));
	char e[64];
	size_t i;
	int line;

	if (d != NULL && bc_cfg_dropins(path, d, e, sizeof(e)) == 0) {
		for (i = d->n; i-- > 0;) {
			line = line_in(d->path[i], section, name);
			if (line > 0) {
				snprintf(file, filelen, "%s", d->path[i]);
				free(d);
				return line;
			}
		}
	}
	free(d);
	snprintf(file, filelen, "%s", path);
	return line_in(path, section, name);
}

int bc_cfg_line(const char *path, const char *section, const char *name)
{
	char file[BC_CFG_STR_MAX];

	return where(path, section, name, file, sizeof(file));
}

int bc_cfg_err(char *err, size_t errlen, const char *path,
	       const char *section, const char *name, const char *fmt, ...)
{
	char reason[512], file[BC_CFG_STR_MAX];
	int line = where(path, section, name, file, sizeof(file));
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: [%s] %s: %s", file, line, section,
			 name, reason);
	else
		snprintf(err, errlen, "%s: [%s] %s: %s", path, section, name,
			 reason);
	return -1;
}

int bc_cfg_dir(const char *dir, int amode, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "\"%.200s\": %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "\"%.200s\": not a directory", dir);
		return -1;
	}
	if (access(dir, amode) < 0) {
		snprintf(err, errlen, "\"%.200s\": %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

void bc_cfg_free(const struct bc_cfg_key *keys, size_t nkeys, void *obj)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (keys[i].type == BC_CFG_ADDRS)
			bc_addr_list_free((struct bc_addr_list *)(void *)((char *)obj + keys[i].offset));
}
