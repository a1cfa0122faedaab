# smtp-session - see README.md.  `make help` lists the targets.

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

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

SESSION_SRCS = smtp-session.c envelope.c message.c io.c config.c log.c \
	       address.c data.c spool.c queue.c
SESSION_SRCS += gate.c geoip.c lockout.c
SESSION_LIBS = $(shell pkg-config --libs libmaxminddb)
# tls.c: the only user of OpenSSL (built lazily, see its header)
SESSION_SRCS += tls.c
SESSION_LIBS += $(shell pkg-config --libs libssl libcrypto)
CPPFLAGS += $(shell pkg-config --cflags libssl libcrypto)
# auth.c: crypt_rn(3) from libxcrypt
SESSION_SRCS += auth.c
SESSION_LIBS += -lcrypt
HDRS = smtp-session.h lockout.h

PROGS = $(O)/smtp-session $(O)/smtp-deliver $(O)/smtp-lockout

# Debian packages the build, the tests and the demo need.
DEPS = build-essential pkg-config clang libclang-rt-14-dev libssl-dev \
       libcrypt-dev libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl \
       bats bats-support bats-assert bats-file parallel ucspi-tcp swaks curl \
       python3 systemd whois openssl groff-base strace

.PHONY: all deps check check-asan demo install uninstall clean help

all: $(PROGS)

$(O)/smtp-session: $(SESSION_SRCS) $(HDRS)
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(SESSION_SRCS) $(LDFLAGS) $(SESSION_LIBS)

$(O)/smtp-lockout: smtp-lockout.c lockout.c lockout.h
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ smtp-lockout.c lockout.c $(LDFLAGS)

$(O)/smtp-deliver: smtp-deliver.c
	@mkdir -p $(O)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ smtp-deliver.c $(LDFLAGS)

help:
	@echo "make            build smtp-session and smtp-deliver"
	@echo "make deps       install missing Debian packages"
	@echo "make demo       run a receiver on 127.0.0.1:2525 (Maildir under ./demo)"
	@echo "make check      run the bats suite; last line: check: N passed, N failed, N skipped"
	@echo "make check-asan the same suite against an ASan+UBSan build"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=..."

# Quick when nothing is missing: one dpkg-query, no apt-get.
deps:
	@./tools/deps $(DEPS)

check: deps all
	@./tests/run-bats

ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
check-asan: deps
	$(MAKE) O=build-asan OPT="$(ASAN_FLAGS)" HARDEN= \
		LDFLAGS="-fsanitize=address,undefined" all
	@SMTP_BUILD=$(CURDIR)/build-asan ASAN_CHECK=1 ./tests/run-bats

demo: deps all
	@./tools/demo

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 smtp-session smtp-deliver smtp-lockout $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,smtp-session smtp-deliver smtp-lockout)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,smtp-session.8 smtp-deliver.8 smtp-lockout.8)

clean:
	rm -rf smtp-session smtp-deliver smtp-lockout build-asan tests/.tap.d tests/.asan
