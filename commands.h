/*
 * commands.h - the command loop and its table (commands.c).
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include "session.h"

/* Serves commands until QUIT, EOF, a timeout or session_end(). */
void command_loop(struct session *s);

#endif
