/*
 * delivery.h - a spooled message to its deliver programs, the reply and
 *	the per-recipient log lines (delivery.c).
 */
#ifndef DELIVERY_H
#define DELIVERY_H

#include <stdbool.h>

#include "session.h"

/* True when the transaction goes to two programs (local and relayed
 * recipients): the message must then be digested as it is spooled
 * (s->tx.hashing), so a retry after a partial failure can skip what
 * was delivered. */
bool delivery_split(const struct session *s);
/* Hands the finished spool file over and replies; qid is the queue id
 * of the reply ("Ok: queued as <qid>"). */
void delivery_run(struct session *s, const char *qid);

#endif
