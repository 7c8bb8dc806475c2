/*
 * test_fw_remote.c - the firewall process takes only exact, well-formed
 * messages: each malformed one makes it exit with status 2 (before it
 * touches the kernel), and EOF from the signer ends it with status 0.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/fw_remote.h"
#include "tap.h"

struct hdr { /* as fw_remote.c lays it out */
	uint32_t magic;
	uint16_t type;
	uint16_t set;
	uint32_t count;
	int32_t family;
};

/* Send `n` messages to a fresh server; return its exit status. */
static int serve_and_send(const void *const *msgs, const size_t *lens, int n)
{
	int sp[2], st, i;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sp[0]);
		bc_fwr_serve(NULL, sp[1]);
	}
	close(sp[1]);
	for (i = 0; i < n; i++)
		send(sp[0], msgs[i], lens[i], MSG_NOSIGNAL);
	close(sp[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	struct hdr apply = {BC_FWR_MAGIC, 1, 0, 1, 0};
	struct hdr apply2 = {BC_FWR_MAGIC, 1, 0, 2, 0};
	struct hdr bad_magic = {0xdeadbeef, 1, 0, 1, 0};
	struct hdr elems_hdr = {BC_FWR_MAGIC, 3, 0, 1, 0};
	struct hdr unknown = {BC_FWR_MAGIC, 99, 0, 0, 0};
	struct hdr too_many = {BC_FWR_MAGIC, 1, 0, BC_FWR_MAX + 1, 0};
	struct hdr dump_bad = {BC_FWR_MAGIC, 5, 0, 0, 12345};
	uint8_t elem_msg[sizeof(struct hdr) + sizeof(struct bc_fw_elem)];
	uint8_t bad_elem[sizeof(elem_msg)], pad_elem[sizeof(elem_msg)];
	struct bc_fw_elem e;
	const void *m[3];
	size_t l[3];

	memset(&e, 0, sizeof(e));
	e.op = BC_FW_ADD;
	e.set = BC_FW_FLEET;
	e.family = AF_INET;
	memcpy(elem_msg, &elems_hdr, sizeof(elems_hdr));
	memcpy(elem_msg + sizeof(elems_hdr), &e, sizeof(e));
	memcpy(bad_elem, elem_msg, sizeof(elem_msg));
	((struct bc_fw_elem *)(void *)(bad_elem + sizeof(struct hdr)))->op = 7;
	memcpy(pad_elem, elem_msg, sizeof(elem_msg));
	((struct bc_fw_elem *)(void *)(pad_elem + sizeof(struct hdr)))->pad[2] = 1;

	CHECK(serve_and_send(NULL, NULL, 0) == 0, "EOF from the signer: exit 0");
	m[0] = "xy";
	l[0] = 2;
	CHECK(serve_and_send(m, l, 1) == 2, "short message: exit 2");
	m[0] = &bad_magic;
	l[0] = sizeof(bad_magic);
	CHECK(serve_and_send(m, l, 1) == 2, "bad magic: exit 2");
	m[0] = &unknown;
	l[0] = sizeof(unknown);
	CHECK(serve_and_send(m, l, 1) == 2, "unknown type: exit 2");
	m[0] = elem_msg;
	l[0] = sizeof(elem_msg);
	CHECK(serve_and_send(m, l, 1) == 2, "elements outside a transaction: exit 2");
	m[0] = &too_many;
	l[0] = sizeof(too_many);
	CHECK(serve_and_send(m, l, 1) == 2, "transaction over the element cap: exit 2");
	/* the control: these two messages, well formed, are taken (the
	 * transaction waits for its second element when EOF comes); each
	 * case below changes one thing in them */
	m[0] = &apply2;
	l[0] = sizeof(apply2);
	m[1] = elem_msg;
	l[1] = sizeof(elem_msg);
	CHECK(serve_and_send(m, l, 2) == 0,
	      "well-formed transaction header and element, then EOF: exit 0");
	m[0] = &apply;
	l[0] = sizeof(apply);
	m[1] = elem_msg;
	l[1] = sizeof(elem_msg) - 1;
	CHECK(serve_and_send(m, l, 2) == 2, "element message one byte short: exit 2");
	m[1] = bad_elem;
	l[1] = sizeof(bad_elem);
	CHECK(serve_and_send(m, l, 2) == 2, "element with op 7: exit 2");
	m[1] = pad_elem;
	l[1] = sizeof(pad_elem);
	CHECK(serve_and_send(m, l, 2) == 2, "element with non-zero padding: exit 2");
	m[1] = &apply;
	l[1] = sizeof(apply);
	CHECK(serve_and_send(m, l, 2) == 2, "nested transaction: exit 2");
	m[0] = &dump_bad;
	l[0] = sizeof(dump_bad);
	CHECK(serve_and_send(m, l, 1) == 2, "dump of an unknown family: exit 2");

	/* paged read-back: a page with none open is an error reply, not an
	 * exit (a reload closes the pager); malformed pages end it */
	{
		struct hdr page_next = {BC_FWR_MAGIC, 9, 0, 0, AF_INET};
		struct hdr page_open = {BC_FWR_MAGIC, 9, 0, 1, AF_INET6};
		struct hdr page_count = {BC_FWR_MAGIC, 9, 0, 2, AF_INET};
		struct hdr page_fam = {BC_FWR_MAGIC, 9, 0, 1, 12345};
		struct hdr page_set = {BC_FWR_MAGIC, 9, 2, 1, AF_INET};
		uint8_t page_long[sizeof(struct hdr) + 1];

		m[0] = &page_next;
		l[0] = sizeof(page_next);
		m[1] = &page_open;
		l[1] = sizeof(page_open);
		CHECK(serve_and_send(m, l, 2) == 0,
		      "page with no read-back open, then a page opening one "
		      "(no kernel here: error replies), then EOF: exit 0");
		m[0] = &page_count;
		l[0] = sizeof(page_count);
		CHECK(serve_and_send(m, l, 1) == 2, "page with count 2: exit 2");
		m[0] = &page_fam;
		l[0] = sizeof(page_fam);
		CHECK(serve_and_send(m, l, 1) == 2, "page of an unknown family: exit 2");
		m[0] = &page_set;
		l[0] = sizeof(page_set);
		CHECK(serve_and_send(m, l, 1) == 2, "page of set 2: exit 2");
		memset(page_long, 0, sizeof(page_long));
		memcpy(page_long, &page_open, sizeof(page_open));
		m[0] = page_long;
		l[0] = sizeof(page_long);
		CHECK(serve_and_send(m, l, 1) == 2, "page one byte long: exit 2");
		m[0] = &apply;
		l[0] = sizeof(apply);
		m[1] = &page_open;
		l[1] = sizeof(page_open);
		CHECK(serve_and_send(m, l, 2) == 2,
		      "page inside a transaction: exit 2");
	}

	/* look-ups: elements as in a replace (add, of the announced set) */
	{
		struct hdr look = {BC_FWR_MAGIC, 10, 0, 1, 0};
		uint8_t msg[sizeof(struct hdr) + sizeof(struct bc_fw_elem)];
		uint8_t bad[sizeof(msg)];
		struct bc_fw_elem *be = (struct bc_fw_elem *)(void *)(bad + sizeof(look));

		memcpy(msg, &look, sizeof(look));
		memcpy(msg + sizeof(look), &e, sizeof(e));
		m[0] = msg;
		l[0] = sizeof(msg);
		CHECK(serve_and_send(m, l, 1) == 0,
		      "well-formed look-up (no kernel here: an error reply), then "
		      "EOF: exit 0");
		l[0] = sizeof(msg) - 1;
		CHECK(serve_and_send(m, l, 1) == 2, "look-up one byte short: exit 2");
		memcpy(bad, msg, sizeof(msg));
		be->op = BC_FW_DEL;
		m[0] = bad;
		l[0] = sizeof(bad);
		CHECK(serve_and_send(m, l, 1) == 2, "look-up of a delete: exit 2");
		memcpy(bad, msg, sizeof(msg));
		be->set = BC_FW_LOCAL;
		CHECK(serve_and_send(m, l, 1) == 2,
		      "look-up element of another set than announced: exit 2");
		memcpy(bad, msg, sizeof(msg));
		((struct hdr *)(void *)bad)->count = BC_FWR_CHUNK + 1;
		CHECK(serve_and_send(m, l, 1) == 2,
		      "look-up over the chunk cap: exit 2");
	}
	return tap_done();
}
