/*
 * geoip.h - libmaxminddb lookups (geoip.c).
 */
#ifndef GEOIP_H
#define GEOIP_H

#include <stddef.h>

int geoip_open(const char *path, char *err, size_t errlen);
void geoip_country(const char *ip, char cc[3]);
void geoip_close(void);

#endif
