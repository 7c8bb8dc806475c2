/*
 * counter.c - persisted monotonic counters (see counter.h).
 */
#include "counter.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int reserve(struct bc_counter *c, uint64_t upto)
{
	char tmp[4200], text[32];
	int fd, n;

	if (c->path[0] == '\0') {
		c->reserved = upto;
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", upto);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, c->path) < 0)
		return -1;
	c->reserved = upto;
	return 0;
}

int bc_counter_open(struct bc_counter *c, const char *path, char *err,
		    size_t errlen)
{
	uint64_t stored = 0;

	memset(c, 0, sizeof(*c));
	if (path != NULL) {
		char buf[32];
		ssize_t n;
		int fd;

		snprintf(c->path, sizeof(c->path), "%s", path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				buf[strcspn(buf, "\n")] = '\0';
				if (bc_parse_u64(buf, 0, UINT64_MAX / 2, &stored) < 0) {
					snprintf(err, errlen, "%s: corrupt counter file", path);
					return -1;
				}
			}
		} else if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	c->next = stored + 1;
	if (c->next < now_us())
		c->next = now_us();
	if (reserve(c, c->next + BC_COUNTER_BLOCK) < 0) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	return 0;
}

uint64_t bc_counter_next(struct bc_counter *c)
{
	uint64_t t = now_us();

	if (c->next < t)
		c->next = t;
	if (c->next >= c->reserved &&
	    reserve(c, c->next + BC_COUNTER_BLOCK) < 0)
		return 0;
	return c->next++;
}
