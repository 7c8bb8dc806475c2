/*
 * reader.h - the agent's reader process (bc-reader): it follows the log
 * sources and the local report socket, parses, and hands each event to
 * the signer as one fixed-size record. It holds its own context alone
 * (struct bc_agent_reader, agent.h): no key, no capability. The signer
 * tells it when every event sent so far is acknowledged (then, and only
 * then, the source cursors are saved), when [detect] changed, and when
 * to stop. The records below are the whole protocol between the two;
 * each side checks size and magic and treats anything else as fatal.
 */
#ifndef BC_READER_H
#define BC_READER_H

#include <stdint.h>

#include "logparse/parse.h"
#include "agent/spool.h"

#define BC_EV_MAGIC 0x62634556u /* "bcEV" */
#define BC_RD_MAGIC 0x62635244u /* "bcRD" */

/* reader -> signer; kind 0: statistics only */
struct bc_evmsg {
	uint32_t magic;
	uint32_t pad;
	uint64_t seq;        /* events sent so far, this one included */
	uint64_t lines;      /* lines read, all sources */
	uint64_t overlong;   /* lines over 8 KiB dropped */
	struct bc_event ev;
	uint16_t len;
	char line[BC_SPOOL_LINE];
};

enum bc_rdcmd_type { BC_RD_SAVE = 1, BC_RD_QUIT = 2, BC_RD_DETECT = 3 };

/* signer -> reader */
struct bc_rdcmd {
	uint32_t magic;
	uint32_t type;       /* enum bc_rdcmd_type */
	uint64_t seq;        /* SAVE: every event up to seq is acknowledged */
};

/* signer -> reader after a reload: the new [detect] settings */
struct bc_rddetect {
	uint32_t magic;
	uint32_t type;       /* BC_RD_DETECT */
	struct bc_detect detect;
};

struct bc_agent_reader; /* agent/agent.h */

/* Run the reader on its context (sources and parsers open, local socket
 * bound) and fd (socketpair end to the signer). Never returns: exits 0
 * when the signer says quit or is gone, 2 on a malformed command. */
void bc_reader_serve(struct bc_agent_reader *ctx, int fd)
	__attribute__((noreturn));

#endif
