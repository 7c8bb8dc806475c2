/*
 * agent.h - the agent's three processes, one context struct each, so the
 * privilege boundary shows in the types (docs/architecture.md):
 *
 *   struct bc_agent_reader    bc-reader: the log sources, their parsers
 *                             and the local report socket; reads attacker
 *                             text. No key, no capability, Landlock.
 *                             Runs agent/reader.c.
 *   struct bc_agent_signer    the process systemd started: the Ed25519
 *                             key, ZeroMQ, the Clone pattern, the local
 *                             policy and spool. No capability. Runs
 *                             agent/main.c (loop), follow.c, events.c,
 *                             reload.c, metrics.c.
 *   struct bc_agent_firewall  bc-firewall: the netlink handle of the
 *                             table, CAP_NET_ADMIN alone, no file. Runs
 *                             agent/fw_remote.c's server.
 *
 * Start-up (agent/main.c) fills all three as root; agent/split.c forks
 * the reader and the firewall process, hands each its own context and
 * nothing else, and drops every process's privileges. The three talk
 * only through socketpairs of fixed-size records (agent/reader.h,
 * agent/fw_remote.h). Each struct is owned by its process; none holds a
 * pointer into another's.
 */
#ifndef BC_AGENT_H
#define BC_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/fleetcheck.h"
#include "agent/handshake.h"
#include "agent/fw_nft.h"
#include "agent/fw_remote.h"
#include "agent/spool.h"
#include "common/allowlist.h"
#include "common/banmap.h"
#include "common/daemon.h"
#include "common/config.h"
#include "common/event.h"
#include "common/interval.h"
#include "common/keys.h"
#include "common/notify.h"
#include "common/policy.h"
#include "conf/agent.h"
#include "logparse/parse.h"
#include "proto/wire.h"

/* metrics: postfix, exim, sendmail, dovecot, other (agent/metrics.c) */
#define BC_AGENT_SERVICES 5
#define BC_AGENT_HEARTBEAT_MS 1000
#define BC_AGENT_COORD_TTL_MS 3500  /* no hugz for this long: resync */
#define BC_AGENT_SYNC_RETRY_MS 3000 /* snapshot not complete: ask again */
#define BC_AGENT_WIRE_FORGET_MS 10000 /* a coordinator's range unheard */
#define BC_AGENT_ZMTP_PING_MS 1000  /* ZMTP heartbeat on every connection */
#define BC_AGENT_ZMTP_TIMEOUT_MS 3000 /* ... unanswered: connection dropped */
#define BC_AGENT_ZMTP_TTL_MS 10000  /* the coordinator drops ours after */
#define BC_AGENT_SYNC_SEND_RETRY_MS 500 /* request could not be sent: again */
#define BC_AGENT_UPDATE_BURST 4096  /* updates applied per transaction */
#define BC_AGENT_REPORT_MAX 5000    /* events per report */
#define BC_AGENT_ACK_TIMEOUT_MS 3000 /* unacknowledged report: send again */
#define BC_AGENT_SAVE_MS 1000       /* housekeeping period */
#define BC_AGENT_DRAIN_MS 2000      /* SIGTERM: wait for the last ack */
#define BC_AGENT_READ_BURST 20000   /* lines read per source per round */
#define BC_AGENT_SPOOL_PAUSE 5000   /* spooled events: stop reading logs */
#define BC_AGENT_CHECK_MS 1000      /* kernel self-check, small sets */
#define BC_AGENT_CHECK_BIG_MS 10000 /* ... above BC_AGENT_CHECK_BIG bans */
#define BC_AGENT_CHECK_BIG 20000
#define BC_AGENT_CHECK_SHARE 20      /* ... and 20 times its last pages' time */
#define BC_AGENT_METRICS_MS 10000   /* metrics_file rewritten this often */
#define BC_AGENT_HIST_BUCKETS 12    /* apply latency histogram */
#define BC_AGENT_LOG_BURST 20       /* warnings per heartbeat period */

struct bc_source; /* agent/source.h */
struct bc_local_meta; /* agent/localsync.c */

enum bc_agent_state { BC_AGENT_SYNCING, BC_AGENT_ACTIVE };

/* the reader's cursor files, apart from the signer's files (Landlock) */
#define BC_AGENT_CURSOR_DIR "cursors"

/*
 * The reader: what agent.ini says about the sources (fixed until a
 * restart; [detect] changes arrive as BC_RD_DETECT records), the sources
 * and parsers it opens itself after the privilege drop, and the local
 * report socket. Never a key, a ZeroMQ socket or the netlink handle.
 */
struct bc_agent_reader {
	struct bc_source_cfg sources[BC_AGENT_MAX_SOURCES];
	size_t nsources;
	struct bc_detect detect;  /* [detect] at start */
	char cursor_dir[BC_CFG_STR_MAX + 16]; /* <state_dir>/cursors */
	int local_fd;             /* local report socket (agent/local.h) */
	struct bc_source *src[BC_AGENT_MAX_SOURCES];
	struct bc_parser *parser[BC_AGENT_MAX_SOURCES];
	int64_t next_read_ms[BC_AGENT_MAX_SOURCES];
	size_t cur;               /* source being read */
};

/*
 * The firewall process: the netlink handle of `table inet bancluster`,
 * opened (and the table set up) as root before the split. Everything it
 * is asked to do arrives as struct bc_fw_elem records (fw_remote.h).
 */
struct bc_agent_firewall {
	struct bc_fw *fw;
};

/*
 * The signer: the whole agent.ini (reloaded on SIGHUP), the key and the
 * coordinator's, ZeroMQ, the mirror of the coordinator's bans, the local
 * policy and its bans, the spool of events to report, the kernel
 * self-check and the counters. It reaches the reader and the firewall
 * process only through rd_fd and fwr.
 */
struct bc_agent_signer {
	struct bc_agent_cfg cfg;
	struct bc_signer signer;
	struct bc_keyring coord; /* exactly one key: the coordinator's (every
				  * coordinator of a cluster has it) */
	struct bc_fwr fwr;       /* the firewall process */
	int rd_fd;               /* the reader process */
	pid_t fw_pid, rd_pid;
	uint64_t rd_seq;         /* last event record received */
	uint64_t rd_lines, rd_overlong;
	struct bc_banmap fleet;  /* mirror of the coordinator's bans */
	struct bc_banmap pending; /* snapshot parts being received */
	struct bc_allowlist fleet_allow;   /* the coordinator's allow list
					    * (bancluster allow): no local ban */
	struct bc_allowlist pending_allow; /* ... of the snapshot being received */
	uint64_t allowed_events; /* events kept from the local policy by it */
	void *zctx, *sub;
	/* [agent] coordinator and updates, split: one DEALER per coord_ep
	 * (dealer[k] to coord_ep[k]: the agent chooses where a report
	 * goes), the SUB to every upd_ep (main.c) */
	void *dealer[BC_CFG_ENDPOINTS_MAX];
	char coord_ep[BC_CFG_ENDPOINTS_MAX][BC_CFG_STR_MAX];
	char upd_ep[BC_CFG_ENDPOINTS_MAX][BC_CFG_STR_MAX];
	size_t ncoord_ep, nupd_ep;
	size_t cur_ep;           /* the coordinator reports and snapshot
				  * requests go to first (follow.c) */
	int report_ep, request_ep; /* where the report in flight and the
				    * snapshot request went; -1: none */
	int snap_ep;             /* the coordinator of the last snapshot part */
	uint64_t coord_switches; /* cur_ep moved on: no answer from it */
	struct bc_handshake hs;  /* refused handshakes retried (handshake.c) */
	enum bc_agent_state state;
	uint8_t nonce[16];
	uint32_t next_part;
	bool request_sent;       /* the snapshot request left the socket */
	uint64_t epoch, seq;     /* applied */
	uint64_t snap_epoch, snap_seq;
	int64_t last_heard_ms;   /* monotonic: last hugz/update */
	int64_t next_heartbeat_ms;
	int64_t sync_started_ms;
	uint64_t rejected[BC_REJ_MAX];
	uint64_t resyncs;        /* resyncs started (start, gap, silence, ...) */
	uint64_t snap_requests, snap_request_failures; /* attempts; not sent */
	uint64_t updates_applied;
	uint64_t duplicates;     /* updates already applied: another
				  * coordinator's copy (follow.c) */
	int log_budget;

	/* detection: the events the reader sends */
	struct bc_policy *local_policy;
	struct bc_banmap local;   /* this agent's own bans (local4/local6) */
	struct bc_spool spool;
	int64_t next_save_ms;
	bool save_due;           /* all lines read so far are acknowledged */
	uint64_t events[BC_AGENT_SERVICES][BC_KINDS]; /* by service, kind */
	uint64_t local_bans;
	uint64_t refused;        /* fleet bans kept out by [local] allow */
	/* the local list as reported to the coordinator (localsync.c) */
	struct bc_local_meta *lmeta; /* per local ban: events, window */
	size_t nlmeta, caplmeta;
	uint64_t local_gen;      /* generation of the local list, never 0 */
	uint64_t local_sent_gen; /* generation last sent whole */
	int64_t local_sent_ms;   /* monotonic: when a list was last sent */
	bool local_asked;        /* the coordinator holds another generation */
	uint64_t local_coord_epoch; /* epoch applied when the coordinator
				  * last asked: lists go only to one that
				  * asked since its start (0: none asked) */
	uint64_t local_lifts;    /* local bans lifted by admins */
	uint64_t local_dropped;  /* bans beyond BC_LOCALSYNC_MAX, last list */

	/* kernel self-check (audit fleet) */
	uint8_t kernel_hash[16];
	int64_t hash_cutoff_ms;
	uint64_t hash_seq;
	uint64_t kernel_count;
	bool hash_valid;
	int drift_seen;          /* consecutive checks that found drift */
	uint64_t repairs;
	int64_t next_check_ms;
	struct bc_fleetcheck check; /* the read-back in progress, by pages */
	int64_t check_busy_ms;   /* the last check's time in its pages */
	struct bc_notify notify;
	struct bc_trim trim;     /* freed heap back after a burst */
	int64_t next_metrics_ms;
	uint64_t coord_seq;      /* newest sequence a coordinator announced
				  * in the applied epoch */
	/* wire versions: what the coordinators' hugz state (0, 0: a
	 * coordinator of wire 1), each distinct range heard in the last
	 * BC_AGENT_WIRE_FORGET_MS, and the version this agent seals with:
	 * the lowest they all open (follow.c) */
	struct bc_agent_wire {
		uint32_t min, max;
		char software[BC_WIRE_SOFTWARE_MAX + 1];
		int64_t heard_ms;
	} coord_wire[BC_CFG_ENDPOINTS_MAX];
	size_t ncoord_wire;
	uint32_t send_version;   /* BC_WIRE_VERSION_MIN until a hugz says more */
	uint64_t reports_sent, reports_acked;
	uint64_t apply_hist[BC_AGENT_HIST_BUCKETS];
	uint64_t apply_count;
	double apply_sum;
};

#endif
