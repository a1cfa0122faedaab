# smtp-session - see README.md.  `make help` lists the targets.

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=
# make install: configuration, systemd units, sysusers.d and tmpfiles.d
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

CC      ?= cc
# The build directory: "." for the normal build, build-asan for check-asan.
O       ?= .

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT     ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DDELIVER_DEFAULT='"$(SBINDIR)/smtp-deliver"'
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) $(WARN) $(HARDEN)
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed

SESSION_SRCS = smtp-session.c commands.c session.c envelope.c message.c io.c config.c log.c \
	       address.c data.c spool.c queue.c
# delivery.c: the parts of a message (local, relayed), the reply, the
# per-recipient log; msgid.c and sha256.c: what it needs of the data
SESSION_SRCS += delivery.c msgid.c sha256.c
# config-check.c: --check-config's file checks (config.c links alone)
SESSION_SRCS += config-check.c
# child.c: the child supervisor of queue.c (deliver) and auth.c (checkpassword)
SESSION_SRCS += child.c
# writeall.c, escape.c: the one write(2)-until-done loop and the one
# escaper, shared with smtp-deliver
SESSION_SRCS += writeall.c escape.c
# mailbox.c: smtp-deliver's rule for a fileable recipient, applied at RCPT
SESSION_SRCS += mailbox.c
SESSION_SRCS += gate.c geoip.c lockout.c
# lockout-redis.c: the lockout in a Redis server (SMTP_LOCKOUT_REDIS);
# libhiredis is dlopen()ed by SONAME when that is set (see its header):
# headers only here, no -lhiredis
SESSION_SRCS += lockout-redis.c
# dlib.c: libmaxminddb (geoip.c) and libcrypt (auth.c) are dlopen()ed by
# SONAME when first needed, not linked (a plain session maps neither);
# their -dev packages are still needed for the headers.
SESSION_SRCS += dlib.c
CPPFLAGS += $(shell pkg-config --cflags libmaxminddb)
# tls.c: the only user of OpenSSL, which it dlopen()s by SONAME only when
# TLS is used (see its header): headers only here, no -lssl -lcrypto, so
# a plain session does not pay the loader for them.  dlopen is in glibc
# 2.34+'s libc (-ldl not needed).
SESSION_SRCS += tls.c
CPPFLAGS += $(shell pkg-config --cflags libssl libcrypto)
# auth.c: crypt_rn(3) from libxcrypt (dlopen()ed, see dlib.c)
SESSION_SRCS += auth.c sasl.c
HDRS = $(wildcard *.h)

PROGS = $(O)/smtp-session $(O)/smtp-deliver $(O)/smtp-lockout $(O)/smtp-sendmail

# Debian packages, each one named: tools/deps installs without
# recommends, so what is only recommended (swaks' libnet-ssleay-perl) is
# not there, and what a test runs itself (pgrep) is named even when a
# dependency brings it.  Not named: priority required (coreutils,
# util-linux...), on every Debian.  tools/fresh-root proves each list on
# a fresh Debian 12 (see HACKING.md).
# build: cc, headers, pkg-config; demo: libssl3, libmaxminddb0 and
# libcrypt1 are dlopen()ed (tls.c, dlib.c),
# openssl makes the certificate, systemd has systemd-socket-activate,
# swaks is README's client; check: what tests/ and fuzz/ run.
DEPS_BUILD = make gcc libc6-dev pkg-config libssl-dev libcrypt-dev libmaxminddb-dev \
	     libhiredis-dev
DEPS_DEMO  = $(DEPS_BUILD) libssl3 libmaxminddb0 libcrypt1 openssl systemd swaks libnet-ssleay-perl
DEPS_CHECK = $(DEPS_DEMO) clang libclang-rt-14-dev libmaxmind-db-writer-perl \
	     bats bats-support bats-assert parallel procps ucspi-tcp curl python3 \
	     whois groff-base strace iproute2 hydra binutils
# msmtp: tests/sendmail.bats' real sendmail (/usr/bin/msmtp -C file; not
# msmtp-mta, which would take /usr/sbin/sendmail from a host's MTA)
DEPS_CHECK += msmtp
# tests/lockout-redis.bats' real Redis (redis-cli from redis-tools);
# libhiredis0.14 is dlopen()ed by lockout-redis.c (SMTP_LOCKOUT_REDIS)
DEPS_CHECK += redis-server redis-tools libhiredis0.14

# smtp-authres (issue 14): its libraries; the tests' DNS server
# (dnsmasq, in a network namespace: dnsmasq-base, the binary alone --
# the dnsmasq package would also start a resolver on the host's port 53)
# and DKIM signer (dkimpy); the public suffix list is what DMARC's
# organizational domain is found with
DEPS_BUILD += libspf2-dev libopendkim-dev libopendmarc-dev
DEPS_CHECK += dnsmasq-base python3-dkim publicsuffix
# issue 14, signing side: dkimpy verifies smtp-dkimsign's signatures,
# xmllint validates smtp-dmarc-report's XML against RFC 7489's schema
DEPS_CHECK += libxml2-utils

.PHONY: all deps deps-build deps-demo deps-check check check-asan demo \
	install uninstall clean help callgraph \
	fuzz fuzz-smoke fuzz-build bench audit

all: $(PROGS)

$(O)/smtp-session: $(SESSION_SRCS) $(HDRS)
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(SESSION_SRCS) $(LDFLAGS)

# config.c: the SMTP_LOCKOUT_* variables, read as the sessions read them
$(O)/smtp-lockout: smtp-lockout.c lockout.c lockout.h lockout-redis.c lockout-redis.h dlib.c dlib.h config.c config.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ smtp-lockout.c lockout.c lockout-redis.c dlib.c config.c $(LDFLAGS)

DELIVER_SRCS = smtp-deliver.c mailbox.c writeall.c escape.c config.c address.c filter-chain.c
$(O)/smtp-deliver: $(DELIVER_SRCS) mailbox.h writeall.h escape.h config.h address.h filter-chain.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(DELIVER_SRCS) $(LDFLAGS)

# smtp-sendmail: a deliver program that hands the message to the host
# MTA's sendmail(1) (tests/sendmail.bats)
SENDMAIL_SRCS = smtp-sendmail.c writeall.c escape.c filter-chain.c
$(O)/smtp-sendmail: $(SENDMAIL_SRCS) writeall.h escape.h filter-chain.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(SENDMAIL_SRCS) $(LDFLAGS)

# ---- issue 14, verifier side: smtp-authres (SPF, DKIM, DMARC, iprev) ----
# The libraries are linked into smtp-authres alone, never into
# smtp-session (its start-up cost does not change).  It goes to
# LIBEXECDIR with the other links of the qmail-queue chain.
AUTHRES_SRCS = smtp-authres.c authres-header.c authres-format.c authres-iprev.c \
	       authres-spf.c authres-dkim.c authres-dmarc.c authres-sandbox.c authres-psl.c \
	       filter-chain.c dmarc-store.c writeall.c escape.c
AUTHRES_HDRS = authres.h authres-header.h authres-sandbox.h authres-psl.h filter-chain.h \
	       dmarc-store.h writeall.h escape.h
AUTHRES_LIBS = -lspf2 $(shell pkg-config --libs opendkim) -lopendmarc -lresolv
PROGS += $(O)/smtp-authres
all: $(O)/smtp-authres
$(O)/smtp-authres: $(AUTHRES_SRCS) $(AUTHRES_HDRS)
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(AUTHRES_SRCS) $(LDFLAGS) $(AUTHRES_LIBS)

# ---- issue 14, signing side: smtp-dkimsign, the DMARC store, ----------
# smtp-dmarc-report.  Installed like smtp-deliver (SBINDIR: PROGS, and the
# install lists below INSTALL_PROGS).
# libopendkim is linked into smtp-dkimsign only.
SIGN_PROGS  = $(O)/smtp-dmarc-report $(O)/smtp-dkimsign
TEST_TOOLS  = $(O)/tests/tools/dmarc-append
all: $(SIGN_PROGS) $(TEST_TOOLS)
PROGS += $(SIGN_PROGS)

$(O)/smtp-dmarc-report: smtp-dmarc-report.c dmarc-store.c dmarc-store.h escape.c escape.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ smtp-dmarc-report.c dmarc-store.c escape.c $(LDFLAGS)

# authres-header.c: the From-domain parser of smtp-authres (A's), shared
DKIMSIGN_SRCS = smtp-dkimsign.c dkimsign-keys.c authres-header.c filter-chain.c \
		writeall.c escape.c
$(O)/smtp-dkimsign: $(DKIMSIGN_SRCS) dkimsign-keys.h authres-header.h filter-chain.h \
		writeall.h escape.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(shell pkg-config --cflags opendkim) $(CFLAGS) -o $@ \
		$(DKIMSIGN_SRCS) $(LDFLAGS) $(shell pkg-config --libs opendkim libcrypto)

$(O)/tests/tools/dmarc-append: tests/tools/dmarc-append.c dmarc-store.c dmarc-store.h
	@mkdir -p $(O)/tests/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/tools/dmarc-append.c dmarc-store.c $(LDFLAGS)

help:
	@echo "make            build smtp-session, smtp-deliver, smtp-lockout, smtp-sendmail"
	@echo "make deps       install the missing Debian packages (deps-build, deps-demo: fewer)"
	@echo "make demo       run a receiver on 127.0.0.1:2525 (Maildir under ./demo)"
	@echo "make check      run the bats suite; last line: check: N passed, N failed, N skipped"
	@echo "make check-asan the same suite against an ASan+UBSan build"
	@echo "make callgraph  the session's file-level call graph; fails on a cycle"
	@echo "make check-systemd  units, README install steps and the .deb in a booted Debian 12 (nspawn)"
	@echo "make deb        a binary Debian package (debhelper), under build-deb/"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=... (uninstall likewise)"
	@echo "make fuzz       libFuzzer targets, FUZZ_SECONDS=$(FUZZ_SECONDS) each (fuzz-smoke: brief)"
	@echo "make bench      throughput, start-up, RSS, TLS cost against the floor (~5 min)"
	@echo "make audit      testssl.sh and nmap smtp-open-relay against a loopback instance"

# Quick when nothing is missing: one dpkg-query, no apt-get.
deps: deps-check
deps-build:
	@./tools/deps $(DEPS_BUILD)
deps-demo:
	@./tools/deps $(DEPS_DEMO)
deps-check:
	@./tools/deps $(DEPS_CHECK)

check: deps-check all callgraph
	@./tests/run-bats

# The file-level call graph of the session must have no cycle: each
# source compiled alone, its symbols read by tools/callgraph (nm).
CALLGRAPH_DIR = $(O)/.callgraph
callgraph: $(SESSION_SRCS) $(HDRS)
	@rm -rf $(CALLGRAPH_DIR) && mkdir -p $(CALLGRAPH_DIR)
	@for f in $(SESSION_SRCS); do \
		$(CC) $(CPPFLAGS) -std=c11 -c $$f -o $(CALLGRAPH_DIR)/$${f%.c}.o || exit 1; \
	done
	@./tools/callgraph $(CALLGRAPH_DIR)/*.o

ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
check-asan: deps-check
	$(MAKE) O=build-asan OPT="$(ASAN_FLAGS)" HARDEN= \
		LDFLAGS="-fsanitize=address,undefined" all
	@TEST_BUILD=$(CURDIR)/build-asan ASAN_CHECK=1 ./tests/run-bats

demo: deps-demo all
	@./tools/demo

# The units' @SBINDIR@ and @SYSCONFDIR@ are filled in; the environment
# file is installed as an example only, a real one is never touched.
# The binaries come from $(O) (the tests install the build under test).
INSTALL_PROGS = smtp-session smtp-deliver smtp-lockout smtp-sendmail
INSTALL_MANS  = smtp-session.8 smtp-deliver.8 smtp-lockout.8 smtp-sendmail.8
INSTALL_PROGS += smtp-authres smtp-dmarc-report smtp-dkimsign
INSTALL_MANS  += smtp-authres.8 smtp-dmarc-report.8 smtp-dkimsign.8
INSTALL_UNITS = $(sort $(notdir $(wildcard units/*.socket units/*.service units/*.timer)))
ETCDIR = $(SYSCONFDIR)/smtp-session

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -d -m 0750 $(DESTDIR)$(ETCDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(addprefix man/,$(INSTALL_MANS)) $(DESTDIR)$(MANDIR)/man8/
	for u in $(INSTALL_UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
			units/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 units/smtp-session.sysusers $(DESTDIR)$(SYSUSERSDIR)/smtp-session.conf
	install -m 0644 units/smtp-session.tmpfiles $(DESTDIR)$(TMPFILESDIR)/smtp-session.conf
	install -m 0644 units/smtp-session.env $(DESTDIR)$(ETCDIR)/smtp-session.env.example

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_PROGS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(INSTALL_MANS))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALL_UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/smtp-session.conf $(DESTDIR)$(TMPFILESDIR)/smtp-session.conf
	rm -f $(DESTDIR)$(ETCDIR)/smtp-session.env.example
	rmdir $(DESTDIR)$(ETCDIR) 2>/dev/null || true

clean:
	rm -rf smtp-session smtp-deliver smtp-lockout smtp-sendmail smtp-authres smtp-dmarc-report smtp-dkimsign tests/tools/dmarc-append build-asan tests/.tap.d tests/.asan .callgraph \
		fuzz/build bench/build

# ---- fuzz/: libFuzzer targets (clang), see fuzz/run --------------------
# make fuzz FUZZ_SECONDS=N   each target N seconds; make fuzz-smoke: CI.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Wall -Wextra
FUZZ_TARGETS  = path data cmdline sasl auth config deliver_path msgid sha256 sendmail_env authres_header
FUZZ_EXTRA_path         = address.c mailbox.c
FUZZ_EXTRA_data         = data.c
FUZZ_EXTRA_cmdline      = io.c
FUZZ_EXTRA_sasl         = sasl.c
FUZZ_EXTRA_auth         = sasl.c dlib.c
FUZZ_EXTRA_config       = config.c -Dstrdup=fuzz_strdup -Dfree=fuzz_free
FUZZ_EXTRA_deliver_path = mailbox.c writeall.c escape.c config.c address.c filter-chain.c -Dmain=smtp_deliver_main
FUZZ_EXTRA_msgid        = msgid.c
FUZZ_EXTRA_sha256       = sha256.c -lcrypto
FUZZ_EXTRA_sendmail_env = writeall.c escape.c filter-chain.c -Dmain=smtp_sendmail_main
FUZZ_EXTRA_authres_header = authres-header.c
fuzz/build/fuzz_authres_header: authres-header.c
# issue 14, signing side: the key table; the store's lines and the report's XML text
FUZZ_TARGETS += dkim_keys dmarc
FUZZ_EXTRA_dkim_keys    = dkimsign-keys.c
FUZZ_EXTRA_dmarc        = dmarc-store.c escape.c -Dmain=dmarc_report_main

fuzz/build/fuzz_%: fuzz/fuzz_%.c fuzz/b64_ref.h $(SESSION_SRCS) smtp-deliver.c smtp-sendmail.c $(HDRS) \
		dkimsign-keys.c dmarc-store.c smtp-dmarc-report.c
	@mkdir -p fuzz/build
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_EXTRA_$*)

fuzz-build: $(FUZZ_TARGETS:%=fuzz/build/fuzz_%)

fuzz:
	@FUZZ_CC=$(FUZZ_CC) ./fuzz/run time $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	@FUZZ_CC=$(FUZZ_CC) ./fuzz/run smoke $(FUZZ_TARGETS)

# ---- bench/: smtp-session against a floor server, see bench/run ---------
# Not part of check or CI: about five minutes, needs the machine to itself.
# bench/run ends with bench/authres.sh (smtp-authres in the chain; root).
BENCH_BIN = bench/build/smtp-load bench/build/floor bench/build/floor-deliver \
	    bench/build/rusage
BENCH_CFLAGS = -std=c11 -O2 -g $(WARN) -D_GNU_SOURCE

bench/build/smtp-load: bench/smtp-load.c
	@mkdir -p bench/build
	$(CC) $(BENCH_CFLAGS) -o $@ $< -pthread $(shell pkg-config --libs libssl libcrypto)

bench/build/%: bench/%.c
	@mkdir -p bench/build
	$(CC) $(BENCH_CFLAGS) -o $@ $<

# lockout-redis.sh: the Redis lockout store's connect-time cost next to
# the state file's (a private redis-server on loopback)
bench: all $(BENCH_BIN)
	@./bench/run
	@./bench/lockout-redis.sh

# ---- audit: testssl.sh and nmap smtp-open-relay against a loopback demo ----
# Not part of check or CI (a few minutes); installs its own tools.
audit: all
	@./tools/deps testssl.sh nmap
	@./tools/audit

# ---- check-systemd: the units, README's install steps and the .deb in a ----
# booted Debian 12 (systemd-nspawn, a cached mmdebstrap root; needs root).
# Not part of check; .ci/run runs it when it can.  See tests/systemd/run.
CHECK_SYSTEMD_DEPS = systemd-container mmdebstrap debhelper dpkg-dev lintian \
		     swaks openssl python3 bats bats-support bats-assert util-linux
check-systemd: all
	@./tools/deps $(CHECK_SYSTEMD_DEPS)
	@./tests/systemd/run

# ---- deb: binary package from debian/, built in a copy of the tree ----------
DEB_OUT ?= $(CURDIR)/build-deb
deb:
	@./tools/deps debhelper dpkg-dev lintian build-essential pkg-config \
		libssl-dev libcrypt-dev libmaxminddb-dev libhiredis-dev libopendkim-dev \
		libspf2-dev libopendmarc-dev
	@./debian/make-deb "$(DEB_OUT)"

.PHONY: check-systemd deb
