/*
 * tls.h - STARTTLS, implicit TLS and ticket keys (tls.c: every OpenSSL call).
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include "config.h"
#include "session.h"

/* Cert and key set and SMTP_TLS not off: STARTTLS offered.  No OpenSSL. */
bool tls_configured(const struct config *cfg);
void cmd_starttls(struct session *s, const char *arg,
		  const struct refusal *refused);
/* SMTP_TLS_IMPLICIT: the handshake before the greeting; false (logged)
 * when it failed and the session must end without a reply. */
bool tls_implicit_start(struct session *s);
/* --check-config: problems counted, warnings only reported. */
int tls_check_files(const struct config *cfg,
		    void (*report)(const char *problem));
/* --new-ticket-key FILE: makes or rotates the key file; exit status. */
int tls_new_ticket_key(const char *path);

#endif
