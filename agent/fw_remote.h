/*
 * fw_remote.h - the firewall writer in its own process. The signer talks
 * to it over a SOCK_SEQPACKET socketpair with fixed-size messages: a
 * header, then chunks of struct bc_fw_elem. The firewall process checks
 * every message's size, type and fields exactly and exits on anything
 * unexpected; it holds CAP_NET_ADMIN and its netlink socket, nothing else.
 */
#ifndef BC_FW_REMOTE_H
#define BC_FW_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/fw_nft.h"

#define BC_FWR_MAGIC 0x62634657u /* "bcFW" */
#define BC_FWR_CHUNK 512         /* elements per message */
#define BC_FWR_MAX 2000000       /* elements per transaction */
#define BC_FWR_PAGE_MS 2         /* kernel time a read-back page may take */

struct bc_fwr {
	int fd;
	int dead; /* the firewall process is gone: the agent must stop */
};

/* Client side (signer): same contracts as bc_fw_apply/replace/dump. */
int bc_fwr_apply(struct bc_fwr *r, const struct bc_fw_elem *ops, size_t n,
		 char *err, size_t errlen);
int bc_fwr_replace(struct bc_fwr *r, enum bc_fw_set set,
		   const struct bc_fw_elem *elems, size_t n, char *err,
		   size_t errlen);
long bc_fwr_dump(struct bc_fwr *r, enum bc_fw_set set, int family,
		 bc_fw_dump_cb cb, void *arg, char *err, size_t errlen);
/*
 * bc_fw_pager_next() of the firewall process's one paged read-back of
 * `set` and family; start = 1 opens a new one (closing any other). The
 * pages' budget is BC_FWR_PAGE_MS. 1 more pages follow, 0 done, -1.
 */
int bc_fwr_page(struct bc_fwr *r, enum bc_fw_set set, int family, int start,
		bc_fw_dump_cb cb, void *arg, char *err, size_t errlen);
/* bc_fw_lookup() of at most BC_FWR_CHUNK elements. */
long bc_fwr_lookup(struct bc_fwr *r, enum bc_fw_set set,
		   const struct bc_fw_elem *e, size_t n, bc_fw_dump_cb cb,
		   void *arg, char *err, size_t errlen);
/* Re-create the chain for a new port list (SIGHUP). */
int bc_fwr_reopen(struct bc_fwr *r, const struct bc_fw_config *cfg, char *err,
		  size_t errlen);

/* Server side (firewall process): serve until EOF, then exit(0); exit(2)
 * on any malformed message. Never returns. */
void bc_fwr_serve(struct bc_fw *fw, int fd) __attribute__((noreturn));

#endif
