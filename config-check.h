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
/* Every SMTP_* variable of the environment that no program of the suite
 * reads (a typo: SMTP_DOMIANS), each with the nearest known name, through
 * warn(); returns how many. */
int config_check_names(void (*warn)(const char *warning));

#endif
