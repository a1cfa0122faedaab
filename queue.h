/*
 * queue.h - the qmail-queue hand-off to the deliver program (queue.c).
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>
#include "config.h"

struct envelope_env {
	const char *remote_ip, *session_id, *helo, *auth_user, *tls, *country;
};

struct queue_result {
	int code;              /* SMTP reply code */
	const char *enh;       /* enhanced status code */
	const char *text;
	int status;            /* exit status, or -signal, or -1000 timeout */
	char custom_enh[16];   /* the program's own reply (queue.c: CUSTOM */
	char custom_text[240]; /* REPLIES); enh and text point here then */
};

/* Runs argv (SMTP_DELIVER or SMTP_RELAY_DELIVER) with fd 0 = msgfd at
 * offset 0 and the envelope on fd 1. */
void queue_message(const struct config *cfg, char *const argv[], int msgfd,
		   const char *sender, char *const rcpts[], size_t nrcpts,
		   const struct envelope_env *env, struct queue_result *res);
/* The reply for one exit status (exposed for tests and the man page). */
void queue_map_status(int status, struct queue_result *res);

#endif
