/*
 * config-check.h - the file-system checks of --check-config (config-check.c).
 */
#ifndef CONFIG_CHECK_H
#define CONFIG_CHECK_H

#include "config.h"

/* Extra checks that touch the file system, for --check-config.  Returns
 * the number of problems, each reported through report(). */
int config_check_files(const struct config *cfg,
		       void (*report)(const char *problem));

#endif
