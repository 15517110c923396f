/* cfglist.h - the configuration's comma-separated lists, for config.c
 * and numplan.c alike. */
#ifndef TLSTRUNK_CFGLIST_H
#define TLSTRUNK_CFGLIST_H

#include <stddef.h>

/*
 * Next comma-separated item of *s, trimmed, into buf.  Returns 1 with an
 * item, 0 at the end of the list, -1 for an empty or overlong item.
 */
int cfg_list_next(const char **s, char *buf, size_t len);

#endif
