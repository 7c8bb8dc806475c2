/*
 * notify.c - sd_notify wrappers (notify.h).
 */
#include "notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void bc_notify_ready(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	sd_notify(0, msg);
}

void bc_notify_tick(struct bc_notify *n, int64_t now_mono_ms)
{
	uint64_t usec;

	if (n->next_ms == 0) { /* first call: is a watchdog configured? */
		n->period_ms = sd_watchdog_enabled(0, &usec) > 0
				       ? (int64_t)(usec / 2000)
				       : 0;
		n->next_ms = now_mono_ms;
	}
	if (n->period_ms <= 0 || now_mono_ms < n->next_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	n->next_ms = now_mono_ms + n->period_ms;
}

void bc_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
