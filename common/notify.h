/*
 * notify.h - systemd readiness and watchdog (the sd_notify protocol), no-ops when the
 * process was not started by systemd (no NOTIFY_SOCKET).
 */
#ifndef BC_NOTIFY_H
#define BC_NOTIFY_H

#include <stdint.h>

/* READY=1 with a one-line status. */
void bc_notify_ready(const char *status);

struct bc_notify {
	int64_t next_ms;   /* next watchdog ping; 0 = not yet set up */
	int64_t period_ms; /* 0: no watchdog configured */
};

/* Call from the event loop: pings the watchdog at half its period. */
void bc_notify_tick(struct bc_notify *n, int64_t now_mono_ms);

/* STOPPING=1 */
void bc_notify_stopping(void);

#endif
