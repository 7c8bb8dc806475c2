# bancluster - top-level build.
#
#   make              build the three programs into build/
#   make test         unit + integration suite, ends with "N passed, N failed"
#   make test SANITIZE=1   the same in an ASan + UBSan build (build-san/)
#   make deps         install every build and test dependency (Debian 12)
#   make demo         narrated demo fleet in network namespaces
#   make demo-ha      the same with three coordinators on etcd, the leader killed -9
#   make bench        benchmarks side by side with today's tools
#   make install      PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZE ?=

ifeq ($(SANITIZE),1)
B       ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     := -O1 -g
else
B       ?= build
SANFLAGS :=
OPT     := -O2 -g -D_FORTIFY_SOURCE=2
endif

CC      ?= cc
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla \
           -Wimplicit-fallthrough -Werror
HARDEN  := -fstack-protector-strong -fPIE
PKGS    ?= libzmq libprotobuf-c libsodium libnftnl libmnl inih sqlite3 openssl libsystemd libcurl jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# What each program links: its own libraries and nothing of another role
# (the coordinator no libnftnl, the agent no SQLite, OpenSSL or libcurl;
# jansson: the CLI's --json and the coordinator's etcd client, cluster
# mode). libsystemd: none links it; the agent's reader loads it when a
# journal source opens (agent/source_journal.c), its headers are enough
# here; common/notify.c speaks the sd_notify protocol itself.
BASE_PKGS  := libzmq libprotobuf-c libsodium inih
COORD_LIBS := $(shell pkg-config --libs $(BASE_PKGS) sqlite3 libcurl jansson 2>/dev/null) -lm -lpthread
AGENT_LIBS := $(shell pkg-config --libs $(BASE_PKGS) libnftnl libmnl 2>/dev/null) -lm
ETCD_LIBS  := $(shell pkg-config --libs jansson 2>/dev/null)
CLI_LIBS   := $(shell pkg-config --libs $(BASE_PKGS) openssl libcurl jansson 2>/dev/null) -lm
CFLAGS  := $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) -D_GNU_SOURCE -I. -I$(B) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
# --version: bancluster's version (the VERSION file; deploy/deb/build.sh
# names the packages after it) and the versions of the libraries that
# cannot tell theirs at run time, for common/version.c alone
VERSION := $(shell cat VERSION)
modver   = $(shell pkg-config --modversion $(1) 2>/dev/null || echo unknown)
VERFLAGS := -DBC_VERSION='"$(VERSION)"' \
            -DBC_BUILT_LIBNFTNL='"$(call modver,libnftnl)"' \
            -DBC_BUILT_LIBMNL='"$(call modver,libmnl)"' \
            -DBC_BUILT_INIH='"$(call modver,inih)"' \
            -DBC_BUILT_LIBSYSTEMD='"$(call modver,libsystemd)"'
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SANFLAGS) $(EXTRA_LDFLAGS)
LIBS    := $(PKG_LIBS) -lm

PROTO_GEN := $(B)/proto/bancluster.pb-c.c
PROTO_HDR := $(B)/proto/bancluster.pb-c.h

# Every folder is a link boundary (docs/architecture.md): each is one
# static library of its .c files except main.c, and a program links its
# own folder plus the shared ones below it, so a call into another role's
# folder is a link error (tests/integration/test_boundaries.sh checks it).
#   common/ + proto/   libbc_common.a    every program
#   logparse/          libbc_logparse.a  agent, bancluster (replay)
#   conf/              libbc_conf.a      every program (the INI schemas)
#   agent/ coordinator/ cli/             their own program only
lib_obj  = $(patsubst %.c,$(B)/%.o,$(filter-out %/main.c,$(wildcard $(1))))
COMMON_OBJ   := $(call lib_obj,common/*.c proto/*.c) $(B)/proto/bancluster.pb-c.o
LOGPARSE_OBJ := $(call lib_obj,logparse/*.c)
CONF_OBJ     := $(call lib_obj,conf/*.c)
AGENT_OBJ    := $(call lib_obj,agent/*.c)
COORD_OBJ    := $(call lib_obj,coordinator/*.c)
CLI_OBJ      := $(call lib_obj,cli/*.c)
L_COMMON   := $(B)/libbc_common.a
L_LOGPARSE := $(B)/libbc_logparse.a
L_CONF     := $(B)/libbc_conf.a
L_AGENT    := $(B)/libbc_agent.a
L_COORD    := $(B)/libbc_coord.a
L_CLI      := $(B)/libbc_cli.a
# tests and benchmarks may reach into any folder
ALL_LIBS := $(L_AGENT) $(L_COORD) $(L_CLI) $(L_CONF) $(L_LOGPARSE) $(L_COMMON)
PROGS   := $(B)/bancluster-coordinator $(B)/bancluster-agent $(B)/bancluster
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
# programs the integration tests drive (not run by tests/run.sh itself)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps test unit-bins demo demo-ha bench install clean fuzz check-deps deb
all: $(PROGS)

$(PROTO_GEN) $(PROTO_HDR): proto/bancluster.proto
	@mkdir -p $(B)/proto
	protoc-c --c_out=$(B) proto/bancluster.proto

$(B)/proto/bancluster.pb-c.o: $(PROTO_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wpedantic -Wmissing-prototypes,$(CFLAGS)) -c -o $@ $<

$(B)/%.o: %.c $(PROTO_HDR) $(wildcard common/*.h proto/*.h logparse/*.h conf/*.h agent/*.h coordinator/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/common/version.o: VERSION
$(B)/common/version.o: CFLAGS += $(VERFLAGS)

$(L_COMMON): $(COMMON_OBJ)
$(L_LOGPARSE): $(LOGPARSE_OBJ)
$(L_CONF): $(CONF_OBJ)
$(L_AGENT): $(AGENT_OBJ)
$(L_COORD): $(COORD_OBJ)
$(L_CLI): $(CLI_OBJ)
$(B)/libbc_%.a:
	rm -f $@
	ar rcs $@ $^

$(B)/bancluster-coordinator: $(B)/coordinator/main.o $(L_COORD) $(L_CONF) $(L_COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(COORD_LIBS)
$(B)/bancluster-agent: $(B)/agent/main.o $(L_AGENT) $(L_CONF) $(L_LOGPARSE) $(L_COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
$(B)/bancluster: $(B)/cli/main.o $(L_CLI) $(L_CONF) $(L_LOGPARSE) $(L_COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/tap.h $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS)

$(B)/tests/%: tests/tools/%.c $(L_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(L_COMMON) $(LIBS)

# etcd_probe drives the coordinator's etcd client (coordinator/etcd.h)
$(B)/tests/etcd_probe: tests/tools/etcd_probe.c $(L_COORD) $(L_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(L_COORD) $(L_COMMON) $(COORD_LIBS) $(ETCD_LIBS) -lpthread

# test_request makes bc_keyring_add fail (as out of memory) through the wrap
$(B)/tests/test_request: LDFLAGS += -Wl,--wrap=bc_keyring_add

$(B)/bench/%: bench/%.c $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS)

unit-bins: $(UNIT_BIN) $(TOOL_BIN)

check-deps:
	@sh deploy/deps.sh --check || $(MAKE) deps

deps:
	sh deploy/deps.sh

test: check-deps
	$(MAKE) all unit-bins SANITIZE=$(SANITIZE)
	B=$(B) sh tests/run.sh

demo: check-deps
	$(MAKE) all
	B=$(B) sh tests/demo.sh

demo-ha: check-deps
	$(MAKE) all
	B=$(B) sh tests/demo_ha.sh

bench: check-deps
	$(MAKE) all $(BENCH_BIN)
	B=$(B) sh bench/run.sh

deb: all
	sh deploy/deb/build.sh $(B) $(DEB_VERSION)

# make install: the programs, their man pages, the bash completion of
# bancluster, and under share/doc/bancluster/ the README, LICENSE, docs/
# and examples/ (every INI file, the systemd units, the fail2ban action).
# Everything goes below $(DESTDIR)$(PREFIX); /etc/bancluster and the user
# are the admin's (README).
DOCDIR  = $(DESTDIR)$(PREFIX)/share/doc/bancluster
MANDIR  = $(DESTDIR)$(PREFIX)/share/man
COMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/bancluster-coordinator $(B)/bancluster-agent $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(B)/bancluster $(DESTDIR)$(PREFIX)/bin/
	install -d $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man8
	install -m 0644 deploy/man/*.1 $(MANDIR)/man1/
	install -m 0644 deploy/man/*.5 $(MANDIR)/man5/
	install -m 0644 deploy/man/*.8 $(MANDIR)/man8/
	install -d $(DOCDIR)/docs $(DOCDIR)/examples/fail2ban/action.d
	install -m 0644 README.md LICENSE $(DOCDIR)/
	install -m 0644 docs/*.md $(DOCDIR)/docs/
	install -m 0644 deploy/agent.ini deploy/coordinator.ini deploy/cli.ini $(DOCDIR)/examples/
	for u in bancluster-agent bancluster-coordinator; do \
		sed -e 's|/usr/sbin/|$(PREFIX)/sbin/|' -e 's|/usr/share/doc/|$(PREFIX)/share/doc/|' \
			deploy/$$u.service >$(DOCDIR)/examples/$$u.service && \
		chmod 0644 $(DOCDIR)/examples/$$u.service || exit 1; \
	done
	install -m 0644 deploy/fail2ban/action.d/*.conf $(DOCDIR)/examples/fail2ban/action.d/
	install -d $(COMPDIR)
	install -m 0644 deploy/completion/bancluster $(COMPDIR)/bancluster

# libFuzzer (clang): one target per parser, the envelope decoder and the
# config loader, each run FUZZ_SECONDS from the test corpus; a crash fails.
FUZZ_SECONDS ?= 20
FZ      := build-fuzz
FZFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -I. -I$(FZ) $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FZ_PARSE := $(wildcard logparse/*.c) common/addr.c common/event.c
FZ_TARGETS := parse_postfix parse_exim parse_sendmail parse_dovecot parse_auto wire config smtp_reply etcd cluster

$(FZ)/proto/bancluster.pb-c.c: proto/bancluster.proto
	@mkdir -p $(FZ)/proto
	protoc-c --c_out=$(FZ) proto/bancluster.proto

$(FZ)/fuzz_parse_%: tests/fuzz/fuzz_parse.c $(FZ_PARSE) $(wildcard logparse/*.h) common/event.h
	@mkdir -p $(FZ)
	clang $(FZFLAGS) -DFUZZ_FORMAT=BC_FMT_$(shell echo $* | tr a-z A-Z) -o $@ tests/fuzz/fuzz_parse.c $(FZ_PARSE)

$(FZ)/fuzz_wire: tests/fuzz/fuzz_wire.c proto/wire.c $(FZ)/proto/bancluster.pb-c.c
	clang $(FZFLAGS) -o $@ tests/fuzz/fuzz_wire.c proto/wire.c $(FZ)/proto/bancluster.pb-c.c common/keys.c common/counter.c common/duration.c common/clock.c common/addr.c $(PKG_LIBS)

$(FZ)/fuzz_config: tests/fuzz/fuzz_config.c common/config.c conf/agent.c $(FZ)/proto/bancluster.pb-c.c
	clang $(FZFLAGS) -o $@ tests/fuzz/fuzz_config.c common/config.c conf/agent.c common/addr.c common/addr_hash.c common/duration.c common/clock.c common/event.c common/keys.c common/policy.c $(PKG_LIBS) -lm

$(FZ)/fuzz_smtp_reply: tests/fuzz/fuzz_smtp_reply.c cli/audit_smtp_client.c cli/audit_smtp_int.h common/clock.c
	@mkdir -p $(FZ)
	clang $(FZFLAGS) -o $@ tests/fuzz/fuzz_smtp_reply.c cli/audit_smtp_client.c common/clock.c $(shell pkg-config --libs openssl 2>/dev/null)

$(FZ)/fuzz_etcd: tests/fuzz/fuzz_etcd.c coordinator/etcd.c coordinator/etcd_watch.c coordinator/etcd_int.h coordinator/etcd.h common/clock.c
	@mkdir -p $(FZ)
	clang $(FZFLAGS) -o $@ tests/fuzz/fuzz_etcd.c coordinator/etcd.c coordinator/etcd_watch.c common/clock.c $(shell pkg-config --libs libcurl jansson libsodium 2>/dev/null)

$(FZ)/fuzz_cluster: tests/fuzz/fuzz_cluster.c coordinator/cluster_codec.c coordinator/cluster_codec.h common/addr.c common/keys.c
	@mkdir -p $(FZ)
	clang $(FZFLAGS) -o $@ tests/fuzz/fuzz_cluster.c coordinator/cluster_codec.c common/addr.c common/keys.c $(PKG_LIBS) $(shell pkg-config --libs jansson 2>/dev/null)

fuzz: check-deps $(addprefix $(FZ)/fuzz_,$(FZ_TARGETS))
	FZ=$(FZ) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FZ_TARGETS)

clean:
	rm -rf build build-san build-fuzz
