/*
 * agent.h - the agent's configuration table and context struct.
 */
#ifndef BC_AGENT_H
#define BC_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/interval.h"
#include "agent/fw_nft.h"
#include "agent/fw_remote.h"
#include "logparse/parse.h"
#include "agent/spool.h"
#include "common/notify.h"
#include "conf/agent.h"
#include "common/policy.h"
#include "common/banmap.h"
#include "common/config.h"
#include "common/keys.h"
#include "proto/wire.h"

/* metrics: postfix, exim, sendmail, dovecot, other (agent/main.c) */
#define BC_AGENT_SERVICES 5
#define BC_AGENT_HEARTBEAT_MS 1000
#define BC_AGENT_COORD_TTL_MS 3500  /* no hugz for this long: resync */
#define BC_AGENT_SYNC_RETRY_MS 3000 /* snapshot not complete: ask again */
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
#define BC_AGENT_METRICS_MS 10000   /* metrics_file rewritten this often */
#define BC_AGENT_HIST_BUCKETS 12    /* apply latency histogram */

struct bc_source; /* agent/source.h */

enum bc_agent_state { BC_AGENT_SYNCING, BC_AGENT_ACTIVE };

/* the reader's cursor files, apart from the signer's files (Landlock) */
#define BC_AGENT_CURSOR_DIR "cursors"

struct bc_agent {
	struct bc_agent_cfg cfg;
	char cursor_dir[BC_CFG_STR_MAX + 16]; /* <state_dir>/cursors */
	struct bc_signer signer;
	struct bc_keyring coord; /* exactly one key: the coordinator's */
	struct bc_fw *fw;        /* firewall process only */
	struct bc_fwr fwr;       /* signer: the firewall process */
	int rd_fd;               /* signer: the reader process */
	pid_t fw_pid, rd_pid;
	uint64_t rd_seq;         /* last event record received */
	uint64_t rd_lines, rd_overlong;
	size_t rd_src;           /* reader: source being read */
	struct bc_banmap fleet;  /* mirror of the coordinator's bans */
	struct bc_banmap pending; /* snapshot parts being received */
	void *zctx, *sub, *dealer;
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
	int log_budget;

	/* detection */
	struct bc_source *src[BC_AGENT_MAX_SOURCES];
	struct bc_parser *parser[BC_AGENT_MAX_SOURCES];
	int64_t next_read_ms[BC_AGENT_MAX_SOURCES];
	struct bc_policy *local_policy;
	struct bc_banmap local;   /* this agent's own bans (local4/local6) */
	struct bc_spool spool;
	int local_fd;            /* local report socket (agent/local.h) */
	int64_t next_save_ms;
	bool save_due;           /* all lines read so far are acknowledged */
	uint64_t events[BC_AGENT_SERVICES][BC_POLICY_KINDS]; /* by service, kind */
	uint64_t local_bans;
	uint64_t refused;        /* fleet bans kept out by [local] allow */

	/* kernel self-check (audit fleet) */
	uint8_t kernel_hash[16];
	int64_t hash_cutoff_ms;
	uint64_t hash_seq;
	uint64_t kernel_count;
	bool hash_valid;
	int drift_seen;          /* consecutive checks that found drift */
	uint64_t repairs;
	int64_t next_check_ms;
	struct bc_notify notify;
	int64_t next_metrics_ms;
	uint64_t coord_seq;      /* newest sequence the coordinator announced */
	uint64_t reports_sent, reports_acked;
	uint64_t apply_hist[BC_AGENT_HIST_BUCKETS];
	uint64_t apply_count;
	double apply_sum;
};

#endif
